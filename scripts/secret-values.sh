# Sourced by scripts/secrets.sh (values made once) and scripts/rotate-secrets.sh (made
# anew): what a secret value and Redis' ACL line look like, in one place.

# 36 random bytes -> 48 URL-safe characters; no quoting issues anywhere.
random_secret() { head -c 36 /dev/urandom | base64 | tr '+/' '-_' | tr -d '\n='; }

# Redis' one user, accepting each PASSWORD given, by its SHA-256 only: the plain password
# exists only in the clients' secret file.
redis_acl_line() { # PASSWORD...
  local hashes="" password
  for password in "$@"; do
    hashes+=" #$(printf '%s' "$password" | sha256sum | cut -d' ' -f1)"
  done
  printf 'user default on%s ~* &* +@all\n' "$hashes"
}
