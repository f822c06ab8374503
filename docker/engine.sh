#!/usr/bin/env bash
# A Docker engine and the debian:bookworm-slim base image on a machine with neither and no
# registry: Debian's docker.io, docker-compose and debootstrap from apt, dockerd started in the
# background, and the base image made with debootstrap and `docker import`. Idempotent: each
# step is skipped when its result is there already.
#
#   docker/engine.sh up     install what is missing, start dockerd, make the base image
#   docker/engine.sh down   stop the dockerd that `up` started (nothing else)
#
# The base is trimmed as the official -slim image is (no docs, man pages or locales, and a
# dpkg rule that keeps later apt installs from adding them) and carries no apt lists or
# downloaded packages.
set -euo pipefail

BASE_IMAGE=${TRIAGE_BASE_IMAGE:-debian:bookworm-slim}
STATE_DIR=${TRIAGE_DOCKER_STATE:-/tmp/triage-docker}
DOCKERD_PID=$STATE_DIR/dockerd.pid
DOCKERD_LOG=$STATE_DIR/dockerd.log
PACKAGES=(docker.io docker-compose debootstrap)

log() { echo "engine.sh: $*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
    local missing=()
    for package in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$package")
    done
    [ ${#missing[@]} = 0 ] && return
    log "installing ${missing[*]} with apt"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
}

start_dockerd() {
    docker info >/dev/null 2>&1 && return
    mkdir -p "$STATE_DIR"
    log "starting dockerd (log: $DOCKERD_LOG)"
    as_root sh -c "nohup dockerd > '$DOCKERD_LOG' 2>&1 & echo \$! > '$DOCKERD_PID'"
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && return
        sleep 1
    done
    log "dockerd did not answer within 60 s; its log:"
    tail -n 30 "$DOCKERD_LOG" >&2
    exit 1
}

debian_mirror() {
    # the first Debian URI this machine's apt uses (deb822 or one-line format)
    local uri
    uri=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' \
        | grep -v security | head -n 1 || true)
    [ -n "$uri" ] || uri=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        | awk '{print $2}' | grep -v security | head -n 1 || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

make_base_image() {
    docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 && return
    local mirror rootfs
    mirror=$(debian_mirror)
    rootfs=$(mktemp -d /tmp/triage-rootfs.XXXXXX)
    log "making $BASE_IMAGE with debootstrap from $mirror (a few minutes)"
    as_root debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$STATE_DIR/debootstrap.log"
    as_root sh -s "$rootfs" "$mirror" <<'TRIM'
set -eu
root=$1 mirror=$2
security=$(echo "$mirror" | sed 's#/debian/*$#/debian-security#')
cat > "$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
cat > "$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
cat > "$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'APT::Install-Recommends "false";' > "$root/etc/apt/apt.conf.d/docker-no-recommends"
find "$root/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/groff/* \
    "$root"/usr/share/lintian/* "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
    "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/var/log/apt/* \
    "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
TRIM
    as_root tar -C "$rootfs" --numeric-owner -c . | docker import - "$BASE_IMAGE" >/dev/null
    as_root rm -rf "$rootfs"
    log "$BASE_IMAGE: $(docker image inspect --format '{{.Size}}' "$BASE_IMAGE") bytes"
}

stop_dockerd() {
    [ -s "$DOCKERD_PID" ] || { log "no dockerd started by engine.sh"; return; }
    local pid
    pid=$(cat "$DOCKERD_PID")
    if kill -0 "$pid" 2>/dev/null; then
        log "stopping dockerd ($pid)"
        as_root kill "$pid"
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    fi
    rm -f "$DOCKERD_PID"
}

case "${1:-up}" in
    up)
        mkdir -p "$STATE_DIR"
        install_packages
        start_dockerd
        make_base_image
        ;;
    down) stop_dockerd ;;
    *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
