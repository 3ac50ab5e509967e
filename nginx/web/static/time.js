// <input type="datetime-local"> speaks the reader's local time without a zone; the API
// speaks RFC 3339 with one. These two convert between them.

export function isoFromLocalInput(value) {
  return value ? new Date(value).toISOString() : null;
}

export function localInputFromIso(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  const pad = (number) => String(number).padStart(2, "0");
  return (
    `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}` +
    `T${pad(when.getHours())}:${pad(when.getMinutes())}`
  );
}

export function readable(iso) {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
