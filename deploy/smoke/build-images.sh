#!/usr/bin/env bash
# Local images for the compose smoke run, made from Debian packages only (no image registry):
#   castwatch-smoke-python:<hash>    debootstrap (minbase) + Debian's python3.11 and venv: the
#                                    base for deploy/Dockerfile (build arg PYTHON_IMAGE)
#   castwatch-smoke-services:<hash>  the same root plus PostgreSQL, nginx, Prometheus,
#                                    Alertmanager, VictoriaMetrics: the stand-ins of
#                                    deploy/smoke/docker-compose.smoke.yml
# The tag is a hash of the recipe and the package lists, so a second run on the same machine reuses both images;
# the debootstrapped root is also kept as a tarball in $CASTWATCH_SMOKE_CACHE.
# Needs root (debootstrap, chroot), a Docker engine and a Debian mirror. Prints KEY=value lines.
set -euo pipefail
SUITE=${CASTWATCH_SMOKE_SUITE:-bookworm}
# the machine's own Debian mirror (the first URI apt is configured with), unless one is given
apt_mirror() {  # never fails: an empty answer is handled below
  { grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources || true
    grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true; } |
    awk '$1 == "URIs:" {print $2; next} {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; break}}' |
    { grep -v security || true; } | head -n1
}
MIRROR=${CASTWATCH_SMOKE_MIRROR:-$(apt_mirror)}
[ -n "$MIRROR" ] || { echo "no Debian mirror configured for apt; set CASTWATCH_SMOKE_MIRROR" >&2; exit 1; }
CACHE=${CASTWATCH_SMOKE_CACHE:-/var/cache/castwatch-smoke}
BASE_PACKAGES=python3,python3-venv,python-is-python3,ca-certificates
SERVICE_PACKAGES="postgresql nginx-light prometheus prometheus-alertmanager victoria-metrics wget busybox openssl"
# Bump RECIPE when the steps below change what goes into an image.
RECIPE=1
HASH=$(echo "$RECIPE $SUITE $BASE_PACKAGES $SERVICE_PACKAGES" | sha256sum | cut -c1-12)
PYTHON_IMAGE=castwatch-smoke-python:$HASH
SERVICES_IMAGE=castwatch-smoke-services:$HASH

have() { docker image inspect "$1" >/dev/null 2>&1; }
log() { echo "[smoke-images] $*" >&2; }

work=""
cleanup() {
  if [ -n "$work" ]; then
    for m in proc dev/pts dev; do umount "$work/root/$m" 2>/dev/null || true; done
    rm -rf "$work"
  fi
}
trap cleanup EXIT

base_root() {  # base_root DIR: the minbase root with Python (from the cached tarball when present)
  local dir=$1 tarball=$CACHE/python-$HASH.tar
  mkdir -p "$dir" "$CACHE"
  if [ -s "$tarball" ]; then
    tar -C "$dir" -xf "$tarball"
    return
  fi
  log "debootstrap $SUITE (minbase + $BASE_PACKAGES)"
  timeout 1200 debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$dir" "$MIRROR" >&2
  chroot "$dir" apt-get clean
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin
  tar -C "$dir" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
}

import_root() {  # import_root DIR IMAGE [--change ...]
  local dir=$1 image=$2; shift 2
  tar -C "$dir" -c . | timeout 600 docker import "$@" - "$image" >/dev/null
}

if ! have "$PYTHON_IMAGE" || ! have "$SERVICES_IMAGE"; then
  work=$(mktemp -d /var/tmp/castwatch-smoke.XXXXXX)
  base_root "$work/root"
  if ! have "$PYTHON_IMAGE"; then
    log "docker import $PYTHON_IMAGE"
    import_root "$work/root" "$PYTHON_IMAGE" --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]'
  fi
  if ! have "$SERVICES_IMAGE"; then
    log "apt-get install $SERVICE_PACKAGES into the root"
    r=$work/root
    mount -t proc proc "$r/proc"; mount --bind /dev "$r/dev"
    # Nothing may start inside the chroot (it shares this host's network), and no default cluster.
    printf '#!/bin/sh\nexit 101\n' > "$r/usr/sbin/policy-rc.d"; chmod +x "$r/usr/sbin/policy-rc.d"
    mkdir -p "$r/etc/postgresql-common/createcluster.d"
    echo "create_main_cluster = false" > "$r/etc/postgresql-common/createcluster.d/castwatch-smoke.conf"
    timeout 900 chroot "$r" apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive timeout 1200 chroot "$r" apt-get install -y -qq --no-install-recommends \
      $SERVICE_PACKAGES >&2
    chroot "$r" apt-get clean
    rm -rf "$r"/var/lib/apt/lists/* "$r/usr/sbin/policy-rc.d"
    # The compose file's nginx.conf says `user nginx;` (as the official image does).
    chroot "$r" useradd --system --no-create-home --shell /usr/sbin/nologin nginx
    # Owned by postgres in the image, so a fresh named volume mounted there is too.
    mkdir -p "$r/var/lib/postgresql/data" "$r/run/postgresql"
    chroot "$r" chown -R postgres:postgres /var/lib/postgresql /run/postgresql
    chmod 700 "$r/var/lib/postgresql/data"
    umount "$r/proc" "$r/dev"
    pgbin=$(ls -d "$r"/usr/lib/postgresql/*/bin | head -1); pgbin=${pgbin#"$r"}
    log "docker import $SERVICES_IMAGE"
    import_root "$r" "$SERVICES_IMAGE" --change 'ENV LANG=C.UTF-8' \
      --change "ENV PATH=$pgbin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  fi
fi
echo "CASTWATCH_SMOKE_PYTHON_IMAGE=$PYTHON_IMAGE"
echo "CASTWATCH_SMOKE_SERVICES_IMAGE=$SERVICES_IMAGE"
