// The API key lives in sessionStorage: this tab only, gone when it closes, never sent
// anywhere but the Authorization header (api.js), never put in a URL or logged.

const STORAGE_NAME = "shortener.api-key";

export function storedKey() {
  try {
    return sessionStorage.getItem(STORAGE_NAME);
  } catch {
    return null; // Storage disabled: the key is asked for again.
  }
}

export function keepKey(key) {
  sessionStorage.setItem(STORAGE_NAME, key);
}

export function forgetKey() {
  sessionStorage.removeItem(STORAGE_NAME);
}

// Enough to recognise a key (as `make keys` lists them), too little to use it.
export function keyPrefix(key) {
  return key.slice(0, 12);
}
