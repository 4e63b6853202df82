# Sourced by scripts/sandbox.sh and tests/release/run.sh: emulator_tls DIR NAME writes a throwaway
# CA (DIR/ca.pem, its common name NAME) and the emulator's TLS certificate for localhost and
# 127.0.0.1 signed by it (DIR/tls.pem, DIR/tls.key), as Entra ID is reached over https.
emulator_tls() {
  local dir=$1 name=$2
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 2 \
    -subj "/CN=$name" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$dir/tls.key" -out "$dir/tls.csr" -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$dir/san.ext"
  openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -out "$dir/tls.pem" -days 2 -extfile "$dir/san.ext" 2>/dev/null
}
