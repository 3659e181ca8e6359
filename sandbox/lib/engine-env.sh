# shellcheck shell=bash
# Sourced by the sandbox scripts: where the container engine and its
# settings live. Podman with the project's containers.conf, always.
sandbox_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CONTAINERS_CONF="$sandbox_dir/containers.conf"
sandbox_run_dir=/run/nexus-cos-sandbox
# The scripts that source this file use these two.
# shellcheck disable=SC2034
sandbox_socket="$sandbox_run_dir/podman.sock"
# shellcheck disable=SC2034
sandbox_image_repo=localhost/nexus-cos-sandbox

die() {
    echo "${0##*/}: $*" >&2
    exit 1
}

note() {
    echo "${0##*/}: $*" >&2
}

# Seconds since the epoch with centiseconds, for the timings we report.
now() {
    date +%s.%N | cut -c1-13
}

elapsed_since() {
    awk -v start="$1" -v end="$(now)" 'BEGIN { printf "%.1f", end - start }'
}
