#!/bin/bash
# Runs inside the sandbox (stage 2 of image-build): imports the sandbox's own
# root filesystem as the PostgreSQL image of the inner Docker, creates the
# nexus-cos-postgres container, starts it once and waits until it is healthy.
# A container that has never run is not restarted by dockerd at boot, so the
# first start happens here and "restart: always" carries it from then on.
#
# usage: create-postgres-container.sh ROOTFS_TARBALL
set -euo pipefail

tarball=${1:?usage: create-postgres-container.sh ROOTFS_TARBALL}
image=localhost/nexus-cos-postgres:15
name=nexus-cos-postgres

docker import \
    --change 'CMD ["/usr/local/sbin/nexus-cos-postgres-start"]' \
    --change 'EXPOSE 5432' \
    --change 'ENV LANG=C.UTF-8' \
    --message 'Debian bookworm + PostgreSQL 15 (sandbox root filesystem)' \
    "$tarball" "$image" >/dev/null

docker rm -f "$name" >/dev/null 2>&1 || true
docker create --name "$name" \
    --restart always \
    --health-cmd 'pg_isready -U postgres' \
    --health-interval 5s --health-timeout 3s --health-retries 5 --health-start-period 10s \
    --stop-signal SIGINT --stop-timeout 30 \
    --publish 127.0.0.1:5432:5432 \
    --volume /etc/nexus-cos:/etc/nexus-cos:ro \
    --label com.nexus-cos.role=database \
    "$image" >/dev/null
docker start "$name" >/dev/null

for _ in $(seq 1 60); do
    health=$(docker inspect --format '{{.State.Health.Status}}' "$name")
    if [ "$health" = healthy ]; then
        exit 0
    fi
    sleep 2
done
echo "create-postgres-container: $name not healthy after 120 s (health: $health)" >&2
docker logs --tail 30 "$name" >&2
exit 1
