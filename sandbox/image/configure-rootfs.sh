#!/bin/bash
# Turns a debootstrapped Debian bookworm tree into the sandbox VPS:
# systemd fit for a container, nginx with TLS, dockerd, sshd with a deploy
# user, the gateway test double, /opt/nexus-cos as a git checkout of the
# sample data, and the files the nexus-cos-postgres container needs.
#
# usage: configure-rootfs.sh ROOTFS
set -euo pipefail

rootfs=${1:?usage: configure-rootfs.sh ROOTFS}
sandbox_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
files="$sandbox_dir/image/files"
export LC_ALL=C

in_root() { chroot "$rootfs" "$@"; }

# systemd in a container: an empty machine-id lets systemd make one per
# container; nothing here may bind the image to the build host.
: > "$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id"
echo nexus-cos-sandbox > "$rootfs/etc/hostname"
# Units that make no sense in a container (no consoles, no udev, no fs repair).
for unit in getty@tty1.service console-getty.service e2scrub_reap.service \
            systemd-udevd.service systemd-udev-trigger.service systemd-firstboot.service; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done

# Debian package caches: not part of a VPS's state, and 200+ MB.
in_root apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/*_Packages "$rootfs"/var/lib/apt/lists/*_InRelease

# nginx: TLS on 443 in front of the gateway. The certificate is made at build
# time and is valid for 365 days from then.
install -d -m 0755 "$rootfs/etc/nginx/ssl"
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -sha256 \
    -subj "/O=Nexus COS sandbox/CN=nexus-cos-sandbox" \
    -addext "subjectAltName=DNS:localhost,DNS:nexus-cos-sandbox,IP:127.0.0.1" \
    -keyout "$rootfs/etc/nginx/ssl/nexus-cos.key" \
    -out "$rootfs/etc/nginx/ssl/nexus-cos.crt" 2>/dev/null
chmod 0600 "$rootfs/etc/nginx/ssl/nexus-cos.key"
chmod 0644 "$rootfs/etc/nginx/ssl/nexus-cos.crt"
rm -f "$rootfs/etc/nginx/sites-enabled/default"
install -m 0644 "$files/nginx-nexus-cos.conf" "$rootfs/etc/nginx/sites-available/nexus-cos"
ln -sf ../sites-available/nexus-cos "$rootfs/etc/nginx/sites-enabled/nexus-cos"
in_root nginx -t -q

# dockerd inside a privileged container.
install -d -m 0755 "$rootfs/etc/docker"
install -m 0644 "$files/docker-daemon.json" "$rootfs/etc/docker/daemon.json"

# The gateway test double.
install -d -m 0755 "$rootfs/usr/local/lib/nexus-cos-gateway"
install -m 0755 "$sandbox_dir/gateway/nexus_gateway.py" "$rootfs/usr/local/lib/nexus-cos-gateway/nexus_gateway.py"
install -m 0644 "$files/nexus-cos-gateway.service" "$rootfs/etc/systemd/system/nexus-cos-gateway.service"

# PostgreSQL runs only inside the nexus-cos-postgres container (whose image
# is this tree); the sandbox itself must not start a cluster on 5432.
in_root systemctl disable postgresql.service >/dev/null 2>&1
sed -i "s/^#\?listen_addresses = .*/listen_addresses = '*'/" "$rootfs/etc/postgresql/15/main/postgresql.conf"
# Local socket: root in the container (docker exec, the pg_isready health
# check) may act as postgres, as the postgres user itself may.
sed -i 's/^local\( \+\)all\( \+\)postgres\( \+\)peer$/local\1all\2postgres\3peer map=nexus_local/' \
    "$rootfs/etc/postgresql/15/main/pg_hba.conf"
grep -q 'map=nexus_local' "$rootfs/etc/postgresql/15/main/pg_hba.conf" ||
    { echo "configure-rootfs.sh: pg_hba.conf has no 'local all postgres peer' line to adapt" >&2; exit 1; }
cat >> "$rootfs/etc/postgresql/15/main/pg_ident.conf" <<'EOF'
nexus_local     root                    postgres
nexus_local     postgres                postgres
EOF
cat >> "$rootfs/etc/postgresql/15/main/pg_hba.conf" <<'EOF'
# nexus-cos-postgres container: clients come through the published port.
host    all             all             0.0.0.0/0               scram-sha-256
EOF
install -m 0755 "$files/nexus-cos-postgres-start" "$rootfs/usr/local/sbin/nexus-cos-postgres-start"
install -m 0755 "$files/nexus-cos-postgres-secret" "$rootfs/usr/local/sbin/nexus-cos-postgres-secret"
install -m 0644 "$files/nexus-cos-postgres-secret.service" "$rootfs/etc/systemd/system/nexus-cos-postgres-secret.service"
install -d -m 0755 "$rootfs/etc/systemd/system/docker.service.d"
install -m 0644 "$files/docker-needs-postgres-secret.conf" "$rootfs/etc/systemd/system/docker.service.d/nexus-cos-postgres-secret.conf"
install -d -m 0755 "$rootfs/etc/nexus-cos"

# SSH as on a production VPS: the deploy user (no password: keys only,
# authorized by whoever tests over SSH) with passwordless sudo.
in_root useradd --create-home --shell /bin/bash deploy
# '*' rather than useradd's '!': sshd treats '!' as a locked account.
in_root usermod --password '*' deploy
install -m 0440 "$files/sudoers-deploy" "$rootfs/etc/sudoers.d/deploy"
in_root visudo -c -q -f /etc/sudoers.d/deploy
install -m 0644 "$files/sshd-nexus-cos.conf" "$rootfs/etc/ssh/sshd_config.d/nexus-cos.conf"
rm -f "$rootfs"/etc/ssh/ssh_host_*
install -d -m 0755 "$rootfs/etc/systemd/system/ssh.service.d"
install -m 0644 "$files/ssh-host-keys.conf" "$rootfs/etc/systemd/system/ssh.service.d/nexus-cos-host-keys.conf"

in_root systemctl enable nexus-cos-gateway.service nexus-cos-postgres-secret.service \
    docker.service nginx.service ssh.service >/dev/null 2>&1

# /opt/nexus-cos: the platform's checkout, here the sample data on branch main.
repo="$rootfs/opt/nexus-cos"
rm -rf "$repo"
install -d -m 0755 "$repo"
cp -r "$sandbox_dir/sample/." "$repo/"
chown -R root:root "$repo"
find "$repo" -type d -exec chmod 0755 {} +
find "$repo" -type f -exec chmod 0644 {} +
# A fixed author and date keep the commit (and so the image) reproducible.
export GIT_AUTHOR_NAME="Nexus COS sandbox" GIT_AUTHOR_EMAIL="sandbox@nexus-cos.invalid"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
export GIT_AUTHOR_DATE="2025-03-01T09:00:00Z" GIT_COMMITTER_DATE="2025-03-01T09:00:00Z"
in_root git -C /opt/nexus-cos init -q -b main
in_root git -C /opt/nexus-cos add -A
in_root git -C /opt/nexus-cos commit -q -m "Nexus COS platform configuration (sandbox sample)"
