// The API, as this page uses it: the key in the Authorization header (never in a URL),
// JSON bodies, and every failure turned into an ApiProblem carrying the problem+json
// document (RFC 9457) the api or nginx answered.

export class ApiProblem extends Error {
  constructor(status, problem) {
    super(`${problem.title}: ${problem.detail}`);
    this.status = status;
    this.problem = problem;
  }
}

async function problemOf(response) {
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      const problem = await response.json();
      if (problem && typeof problem.title === "string") return problem;
    } catch {
      // Not JSON after all: described below like any other answer.
    }
  }
  return {
    title: response.statusText || "Error",
    status: response.status,
    detail: `The server answered ${response.status}.`,
  };
}

// body: an object sent as JSON; or, with `contentType`, a File sent as it is.
async function call(key, method, path, body, contentType) {
  const headers = { Accept: "application/json, application/problem+json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = contentType ?? "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined || contentType ? body : JSON.stringify(body),
      // Answers depend on the key: never from the HTTP cache, never with cookies.
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    throw new ApiProblem(0, {
      title: "Network error",
      status: 0,
      detail: "The server could not be reached. Check the connection and try again.",
    });
  }
  if (!response.ok) throw new ApiProblem(response.status, await problemOf(response));
  return response;
}

// The key's own prefix, name, scopes and expiry: any valid key may ask (docs/api.md).
export async function currentKey(key) {
  return (await call(key, "GET", "/api/keys/current")).json();
}

const linkPath = (code) => `/api/links/${encodeURIComponent(code)}`;

export async function createLink(key, fields) {
  return (await call(key, "POST", "/api/links", fields)).json();
}

export async function listLinks(key, { cursor, q, tag, limit }) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set("cursor", cursor);
  if (q) query.set("q", q);
  if (tag) query.set("tag", tag);
  return (await call(key, "GET", `/api/links?${query}`)).json();
}

export async function updateLink(key, code, changes) {
  return (await call(key, "PATCH", linkPath(code), changes)).json();
}

export async function deleteLink(key, code) {
  await call(key, "DELETE", linkPath(code));
}

// The newest changes first (the API pages further back with a cursor; 20 suffice here).
export async function linkHistory(key, code) {
  return (await call(key, "GET", `${linkPath(code)}/history?limit=20`)).json();
}

export async function linkStats(key, code) {
  return (await call(key, "GET", `${linkPath(code)}/stats`)).json();
}

// The QR code as a Blob: the endpoint needs the key, so an <img src> cannot ask for it
// itself; the page shows the Blob through an object URL (img-src blob: in the CSP).
export async function linkQr(key, code, format) {
  return (await call(key, "GET", `${linkPath(code)}/qr?format=${format}`)).blob();
}

// An import: the file as the body, its type from its name (docs/api.md, "Import").
export function importType(file) {
  return /\.(jsonl|ndjson)$/i.test(file.name) ? "application/x-ndjson" : "text/csv";
}

export async function startImport(key, file, { dryRun, onConflict }) {
  const query = new URLSearchParams({ on_conflict: onConflict, dry_run: String(dryRun) });
  return (await call(key, "POST", `/api/imports?${query}`, file, importType(file))).json();
}

export async function readImport(key, id) {
  return (await call(key, "GET", `/api/imports/${encodeURIComponent(id)}`)).json();
}

// The export as a Blob, for the same reason as the QR code: the endpoint needs the key.
export async function exportLinks(key, format) {
  return (await call(key, "GET", `/api/links/export?format=${format}`)).blob();
}
