#!/bin/sh
# Time one admin import request: a 2 KB gzip of a million bad lines, against a running server.
#   URL=http://127.0.0.1:8000 IMPORT_USER=admin IMPORT_PASSWORD=... sh benchmarks/admin_import_bomb.sh
# The user needs the import and add permissions on shop.Customer (a superuser has them).
set -eu
URL=${URL:-http://127.0.0.1:8000}
JAR=$(mktemp)
BOMB=$(mktemp --suffix=.csv.gz)
PAGE=$(mktemp)
trap 'rm -f "$JAR" "$BOMB" "$PAGE"' EXIT
python3 -c "import gzip, sys; sys.stdout.buffer.write(gzip.compress(b'email,name,country,created_at\n' + b'x\n' * 1_000_000, 9))" >"$BOMB"
token() { grep -o 'name="csrfmiddlewaretoken" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//'; }
T=$(curl -s -c "$JAR" -b "$JAR" "$URL/admin/login/" | token)
curl -s -o /dev/null -c "$JAR" -b "$JAR" \
  --data-urlencode "csrfmiddlewaretoken=$T" --data-urlencode "username=$IMPORT_USER" \
  --data-urlencode "password=$IMPORT_PASSWORD" "$URL/admin/login/"
T=$(curl -s -c "$JAR" -b "$JAR" "$URL/admin/shop/customer/import/" | token)
echo "upload: $(wc -c <"$BOMB") bytes"
curl -s -c "$JAR" -b "$JAR" -o "$PAGE" -w "HTTP %{http_code} in %{time_total} s\n" \
  -F "csrfmiddlewaretoken=$T" -F mode=create -F encoding=utf-8 -F "file=@$BOMB" \
  "$URL/admin/shop/customer/import/"
grep -o 'The check stopped[^<]*' "$PAGE" || true
