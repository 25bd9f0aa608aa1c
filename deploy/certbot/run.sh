#!/bin/sh
# The certbot container of the `certbot` compose profile (docs/stack.md, "Certificates that renew
# themselves"). Obtains a Let's Encrypt certificate for PUBLIC_HOSTNAME through the webroot nginx
# serves (/.well-known/acme-challenge/ from the acme-challenges volume), then tries a renewal
# every CERTBOT_INTERVAL_S (default 12 h; certbot renews within 30 days of expiry). After each
# run it copies the live certificate into /etc/nginx/certs (TLS_CERT_DIR), where nginx's reload
# loop (deploy/nginx/40-reload-certificates.sh) notices the change and reloads within a minute.
set -eu
: "${PUBLIC_HOSTNAME:?set PUBLIC_HOSTNAME in .env}"
WEBROOT=${CERTBOT_WEBROOT:-/var/www/acme}
CERTS=${CERTBOT_CERTS_DIR:-/etc/nginx/certs}
LIVE=${CERTBOT_LIVE_DIR:-/etc/letsencrypt/live}/$PUBLIC_HOSTNAME
INTERVAL=${CERTBOT_INTERVAL_S:-43200}

obtain() {
  set -- certonly --webroot -w "$WEBROOT" -d "$PUBLIC_HOSTNAME" --non-interactive --agree-tos --keep-until-expiring
  if [ -n "${LETSENCRYPT_EMAIL:-}" ]; then set -- "$@" --email "$LETSENCRYPT_EMAIL"
  else set -- "$@" --register-unsafely-without-email; fi
  [ "${LETSENCRYPT_STAGING:-false}" = true ] && set -- "$@" --staging
  certbot "$@"
}

install_live() {  # copy only when changed, so nginx reloads only for a new certificate
  [ -s "$LIVE/fullchain.pem" ] && [ -s "$LIVE/privkey.pem" ] || return 0
  if ! cmp -s "$LIVE/fullchain.pem" "$CERTS/fullchain.pem"; then
    cp "$LIVE/privkey.pem" "$CERTS/privkey.pem.new" && cp "$LIVE/fullchain.pem" "$CERTS/fullchain.pem.new"
    mv "$CERTS/privkey.pem.new" "$CERTS/privkey.pem" && mv "$CERTS/fullchain.pem.new" "$CERTS/fullchain.pem"
    echo "certbot: installed a new certificate for $PUBLIC_HOSTNAME"
  fi
}

while :; do
  if [ -s "$LIVE/fullchain.pem" ]; then
    certbot renew --webroot -w "$WEBROOT" --non-interactive || echo "certbot: renew failed, retrying later" >&2
  else
    obtain || echo "certbot: could not obtain a certificate for $PUBLIC_HOSTNAME, retrying later" >&2
  fi
  install_live
  [ "${CERTBOT_ONCE:-false}" = true ] && exit 0
  sleep "$INTERVAL"
done
