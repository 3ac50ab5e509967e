// The page's entry point: the API key, the shorten form and its result (copy, QR code);
// the list of links (links.js) and one link's details (details.js).

import { createLink, currentKey, linkQr } from "./api.js";
import { LinkDetails } from "./details.js";
import { forgetKey, keepKey, keyPrefix, storedKey } from "./key.js";
import { LinkList } from "./links.js";
import { clearProblems, showProblem } from "./problems.js";
import { tagsFromInput } from "./tags.js";
import { isoFromLocalInput } from "./time.js";

const $ = (id) => document.getElementById(id);

// What the other modules need of the key: read it, and give it up on a 401.
const session = {
  key: storedKey,
  // A 401 means the key is unknown or revoked: forget it and ask again, with the
  // problem's title/detail beside the key field. True when it handled the error.
  unauthorized(error) {
    if (error.status !== 401) return false;
    forgetKey();
    showSignedOut();
    showProblem($("key-section"), { problem: { ...error.problem, errors: [] } }, $("key-input-error"));
    $("key-input").setAttribute("aria-invalid", "true");
    $("key-input").focus();
    return true;
  },
};

const list = new LinkList(session, (link) => details.open(link));
const details = new LinkDetails(session, list);

function showSignedOut() {
  $("key-form").hidden = false;
  $("key-status").hidden = true;
  $("signed-in").hidden = true;
}

// What the key may do decides what the page offers: a key without links:write sees no
// create, edit or delete controls (the API would refuse them with a 403 anyway).
function offerWhatTheKeyMay(scopes) {
  const canWrite = scopes.includes("links:write");
  for (const part of document.querySelectorAll(".needs-write")) part.hidden = !canWrite;
  $("key-read-only").hidden = canWrite;
}

async function signIn(key) {
  keepKey(key);
  $("key-prefix").textContent = keyPrefix(key);
  // The key's check: a wrong key is a 401 here (handled by session.unauthorized); any
  // other failure is shown beside the key, since nothing else is on screen yet.
  let current;
  try {
    current = await currentKey(key);
  } catch (error) {
    if (!session.unauthorized(error)) showProblem($("key-section"), error, $("key-input-error"));
    return false;
  }
  offerWhatTheKeyMay(current.scopes);
  if (!(await list.reload())) {
    if (list.lastError.status !== 401) {
      showProblem($("key-section"), list.lastError, $("key-input-error"));
    }
    return false;
  }
  clearProblems($("key-section"));
  $("key-form").hidden = true;
  $("key-status").hidden = false;
  $("signed-in").hidden = false;
  return true;
}

$("key-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearProblems($("key-section"));
  const input = $("key-input");
  const key = input.value.trim();
  input.value = ""; // Out of the DOM as soon as it is in storage.
  if (!key) {
    session.unauthorized({
      status: 401,
      problem: { title: "Unauthorized", detail: "Paste an API key first." },
    });
    return;
  }
  // A read-only key has no shorten form: its links come first.
  if (await signIn(key)) ($("shorten-section").hidden ? $("links-heading") : $("shorten-url")).focus();
});

$("key-forget").addEventListener("click", () => {
  forgetKey();
  details.section.hidden = true;
  $("result").hidden = true;
  showSignedOut();
  $("key-input").focus();
});

// ---- shorten -----------------------------------------------------------------------
const shortenForm = $("shorten-form");
let qrObjectUrl = null;
let shortened = null;

function shortenFields() {
  const form = shortenForm.elements;
  const fields = { url: form.url.value.trim() };
  if (form.alias.value.trim()) fields.alias = form.alias.value.trim();
  const tags = tagsFromInput(form.tags.value);
  if (tags.length) fields.tags = tags;
  if (form.expires_at.value) fields.expires_at = isoFromLocalInput(form.expires_at.value);
  // As typed: the API says what is wrong with "1.5" or "-3", naming the field.
  if (form.max_visits.value) fields.max_visits = Number(form.max_visits.value);
  if (form.password.value) fields.password = form.password.value;
  if (form.allow_indexing.checked) fields.allow_indexing = true;
  return fields;
}

shortenForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearProblems(shortenForm);
  let link;
  try {
    link = await createLink(session.key(), shortenFields());
  } catch (error) {
    if (!session.unauthorized(error)) showProblem(shortenForm, error);
    return;
  }
  shortenForm.reset();
  await showResult(link);
  list.reload();
});

async function showResult(link) {
  shortened = link;
  const anchor = $("result-link");
  anchor.href = link.short_url;
  anchor.textContent = link.short_url;
  $("result-target").textContent = link.url;
  $("copy-status").textContent = "";
  $("result-error").hidden = true;
  $("result").hidden = false;
  $("result-heading").focus();
  try {
    const svg = await linkQr(session.key(), link.code, "svg");
    if (qrObjectUrl) URL.revokeObjectURL(qrObjectUrl);
    qrObjectUrl = URL.createObjectURL(svg);
    $("result-qr").src = qrObjectUrl;
    $("result-qr").alt = `QR code of ${link.short_url}`;
  } catch (error) {
    if (!session.unauthorized(error)) showProblem($("result"), error, $("result-error"));
  }
}

// Clipboard API where the page is a secure context (https, or 127.0.0.1/localhost);
// elsewhere (plain http to a LAN address) the older select-and-copy command.
async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const field = document.createElement("textarea");
  field.value = text;
  field.setAttribute("readonly", "");
  field.className = "offscreen";
  document.body.append(field);
  field.select();
  const copied = document.execCommand("copy");
  field.remove();
  if (!copied) throw new Error("copy refused");
}

$("copy-button").addEventListener("click", async () => {
  try {
    await copyText(shortened.short_url);
    $("copy-status").textContent = "Copied.";
  } catch {
    $("copy-status").textContent = "Could not copy: select the link and copy it yourself.";
  }
});

async function download(format) {
  try {
    const image = await linkQr(session.key(), shortened.code, format);
    const url = URL.createObjectURL(image);
    const anchor = document.createElement("a");
    anchor.href = url;
    anchor.download = `${shortened.code}.${format}`;
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (error) {
    if (!session.unauthorized(error)) showProblem($("result"), error, $("result-error"));
  }
}
$("qr-svg").addEventListener("click", () => download("svg"));
$("qr-png").addEventListener("click", () => download("png"));

// ---- start: a key kept from earlier in this tab is used at once --------------------
const kept = storedKey();
if (kept) signIn(kept);
else showSignedOut();
