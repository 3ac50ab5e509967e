// Tags as typed in a text field: "Spring Sale, promo" -> ["Spring Sale", "promo"]. The API
// normalises them (lower case, spaces to "-") and says what is wrong with one, naming the
// field; the page only splits on commas.

export function tagsFromInput(text) {
  return text
    .split(",")
    .map((tag) => tag.trim())
    .filter((tag) => tag);
}

// The same set as the link's (stored normalised and sorted): then nothing is sent.
export function sameTags(typed, stored) {
  const normalised = [...new Set(typed.map((tag) => tag.toLowerCase().replace(/\s+/g, "-")))].sort();
  return normalised.length === stored.length && normalised.every((tag, i) => tag === stored[i]);
}
