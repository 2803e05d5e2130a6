# Authentication: mutual certificates and a pre-shared key, success and
# failure, and the plain port staying shut without relocd-allow-insecure.
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || skip "openssl not installed"
net_up
cd "$T" || die "cd $T"
mkcert() { # NAME CA [SUBJECTALTNAME]
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null
    printf 'extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' \
        "${3:-DNS:$1.relocd.test}" >ext
    openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" \
        -CAcreateserial -days 2 -extfile ext -out "$1.crt" 2>/dev/null
}
for ca in ca rogue; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=$ca" -days 2 -keyout $ca.key -out $ca.crt 2>/dev/null
done
# The client checks the name or address it dialled: 10.77.0.2.
mkcert dst ca IP:10.77.0.2; mkcert src ca; mkcert evl rogue
mkcert other ca IP:10.77.0.9; mkcert rev ca
printf '[ca]\ndefault_ca=c\n[c]\ndatabase=index.txt\ndefault_md=sha256
default_crl_days=2\n' >ca.cnf
: >index.txt
openssl ca -config ca.cnf -cert ca.crt -keyfile ca.key -revoke rev.crt \
    2>/dev/null || die "cannot revoke"
openssl ca -config ca.cnf -cert ca.crt -keyfile ca.key -gencrl -out crl.pem \
    2>/dev/null || die "cannot make the CRL"
openssl rand -hex 32 >psk; openssl rand -hex 32 >psk2
chmod 600 psk psk2 ./*.key
cd - >/dev/null || die "cd back from $T"

# Mutual TLS.  The plain port must stay shut (no relocd-allow-insecure).
start_relocd "(xend-relocation-server yes)
(xend-relocation-ssl-server yes)
(xend-relocation-server-ssl-key-file $T/dst.key)
(xend-relocation-server-ssl-cert-file $T/dst.crt)
(relocd-ssl-ca-file $T/ca.crt)" 8003
grep -q "not opening the plain relocation port 8002" "$T/relocd.log" ||
    die "plain port opened without relocd-allow-insecure"
printf '(xend-relocation-ssl yes)
(xend-relocation-server-ssl-key-file %s/src.key)
(xend-relocation-server-ssl-cert-file %s/src.crt)
(relocd-ssl-ca-file %s/ca.crt)\n' "$T" "$T" "$T" >"$T/client.sxp"
expect_ok migrate "$NS_SRC" --name tls1 --mib 8
received tls1 || die "tls1 not received"
grep -q "authenticated as CN=src" "$T/relocd.log" || die "no peer identity logged"
# A certificate from another CA is refused in the handshake.
sed "s/src\./evl./g" "$T/client.sxp" >"$T/evl.sxp"
cp "$T/evl.sxp" "$T/client.sxp"
expect_fail "TLS|certificate|alert" migrate "$NS_EVL" --name tls2
received tls2 && die "a rogue certificate got a guest through"
alive
kill "$RELOCD_PID"; wait "$RELOCD_PID" 2>/dev/null

# A server whose certificate is for another address: the client refuses.
start_relocd "(xend-relocation-ssl-server yes)
(xend-relocation-server-ssl-key-file $T/other.key)
(xend-relocation-server-ssl-cert-file $T/other.crt)
(relocd-ssl-ca-file $T/ca.crt)" 8003
sed "s/evl\./src./g" "$T/evl.sxp" >"$T/client.sxp"
expect_fail "certificate CN=other is not valid for 10.77.0.2" \
    migrate "$NS_SRC" --name tls3
received tls3 && die "a guest went to a server with another's certificate"
kill "$RELOCD_PID"; wait "$RELOCD_PID" 2>/dev/null

# With a CRL: a revoked client is refused, the others pass.
start_relocd "(xend-relocation-ssl-server yes)
(xend-relocation-server-ssl-key-file $T/dst.key)
(xend-relocation-server-ssl-cert-file $T/dst.crt)
(relocd-ssl-ca-file $T/ca.crt)
(relocd-crl-file $T/crl.pem)" 8003
sed "s/src\./rev./g" "$T/client.sxp" >"$T/rev.sxp"
printf '(relocd-crl-file %s/crl.pem)\n' "$T" >>"$T/client.sxp"
expect_ok migrate "$NS_SRC" --name crl1
received crl1 || die "crl1 not received"
# A sender that has the CRL refuses to use its own revoked certificate.
sed "s/src\./rev./g" "$T/client.sxp" >"$T/rev-crl.sxp"
cp "$T/rev-crl.sxp" "$T/client.sxp"
expect_fail "rev.crt: the certificate is not valid .*certificate revoked" \
    migrate "$NS_SRC" --name crl2
cp "$T/rev.sxp" "$T/client.sxp"
expect_fail "certificate revoked" migrate "$NS_SRC" --name crl2
received crl2 && die "a revoked certificate got a guest through"
i=0 # the session may log after the client has gone
until grep -q "verify failed (certificate revoked)" "$T/relocd.log"; do
    sleep 0.1; i=$((i + 1)); [ $i -gt 50 ] && die "no revocation logged"
done
alive
kill "$RELOCD_PID"; wait "$RELOCD_PID" 2>/dev/null

# One pre-shared key for the cluster, no certificates.
start_relocd "(xend-relocation-ssl-server yes)
(relocd-psk-file $T/psk)" 8003
printf '(xend-relocation-ssl yes)\n(relocd-psk-file %s/psk)\n' "$T" >"$T/client.sxp"
expect_ok migrate "$NS_SRC" --name psk1 --mib 8
received psk1 || die "psk1 not received"
# After the handshake every line of the session names the identity.
grep -Eq "as psk:relocd \(10\.77\.0\.[0-9]+\): received psk1" \
    "$T/relocd.log" || die "the session's lines do not name the key's identity"
printf '(xend-relocation-ssl yes)\n(relocd-psk-file %s/psk2)\n' "$T" >"$T/client.sxp"
expect_fail "TLS|handshake|alert|decrypt" migrate "$NS_SRC" --name psk2
received psk2 && die "a wrong key got a guest through"
# A plain-TCP client against the TLS port gets nowhere.
printf '(xend-relocation-port 8003)\n' >"$T/client.sxp"
expect_fail "." migrate "$NS_SRC" --name plain1
alive
kill "$RELOCD_PID"; wait "$RELOCD_PID" 2>/dev/null

# Per-host keys: the target lists src and evl, each with its own key, and
# its log names the one that came on every line of the session.  src has
# its own line (a key of its own, listed by the targets under its name);
# evl the line of the host it dials (a key for the pair evl-dst).
ks=$(openssl rand -hex 32); ke=$(openssl rand -hex 32)
printf '# the sources this target accepts\nsrc:%s\nevl:%s\n' "$ks" "$ke" \
    >"$T/psk-dst"
printf 'src:%s\n' "$ks" >"$T/psk-src"
printf '10.77.0.2:%s\n' "$ke" >"$T/psk-evl"
printf 'src:%s\n' "$ke" >"$T/psk-thief" # evl's key under src's name
printf 'nobody:%s\n' "$ks" >"$T/psk-none"
chmod 600 "$T"/psk-*
start_relocd "(xend-relocation-ssl-server yes)
(relocd-psk-file $T/psk-dst)" 8003
psk_client() { # FILE IDENTITY
    printf '(xend-relocation-ssl yes)\n(relocd-psk-file %s)
(relocd-psk-identity %s)\n' "$1" "$2" >"$T/client.sxp"
}
psk_client "$T/psk-src" src
expect_ok migrate "$NS_SRC" --name host1 --mib 8
received host1 || die "host1 not received"
grep -q "authenticated as psk:src" "$T/relocd.log" || die "src not logged"
grep -Eq "as psk:src \(10\.77\.0\.[0-9]+\): receiving host1" "$T/relocd.log" ||
    die "the session's lines do not name its identity"
psk_client "$T/psk-evl" evl
expect_ok migrate "$NS_EVL" --name host2 --mib 8
received host2 || die "host2 not received"
grep -q "authenticated as psk:evl" "$T/relocd.log" || die "evl not logged"
# Stolen from evl, its key cannot pass for src.
psk_client "$T/psk-thief" src
expect_fail "different pre-shared keys" migrate "$NS_EVL" --name host3
received host3 && die "evl's key passed for src"
# A source needs the line of the host it dials, or its own.
psk_client "$T/psk-none" src
expect_fail "no line for '10.77.0.2' nor for this host's identity 'src'" \
    migrate "$NS_SRC" --name host4
alive
kill "$RELOCD_PID"; wait "$RELOCD_PID" 2>/dev/null

# A target that does not list evl says whom it refused.
start_relocd "(xend-relocation-ssl-server yes)
(relocd-psk-file $T/psk-src)" 8003
psk_client "$T/psk-evl" evl
expect_fail "the server has no key for this host's identity 'evl'" \
    migrate "$NS_EVL" --name host5
i=0 # the session may log after the client has gone
until grep -q "not in this host's key file: 'evl'" "$T/relocd.log"; do
    sleep 0.1; i=$((i + 1)); [ $i -gt 50 ] && die "no unknown identity logged"
done
alive
