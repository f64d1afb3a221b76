package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// CosignPassword is the password of the key pairs CosignKeyPair generates.
const CosignPassword = "imagegate-test"

// cosignTimeout bounds one run of the cosign CLI: every run is local (a
// loopback registry, no transparency log), so a run that takes longer is
// stuck, most likely trying to reach the network.
const cosignTimeout = 2 * time.Minute

// CosignCLI finds the cosign CLI of the version whose library the verifier
// uses, built into .tools/bin by scripts/build-clis.sh (make test runs it),
// or named by IMAGEGATE_COSIGN.
func CosignCLI(t testing.TB) string {
	t.Helper()
	p := os.Getenv("IMAGEGATE_COSIGN")
	if p == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatalf("the cosign CLI is needed for the interop tests: %v; run make clis (make test does) or set IMAGEGATE_COSIGN", err)
		}
		p = filepath.Join(root, ".tools", "bin", "cosign")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the cosign CLI is needed for the interop tests: run make clis (make test does) or set IMAGEGATE_COSIGN: %v", err)
	}
	return p
}

// moduleRoot walks up from the working directory (a package directory
// under go test) to the directory holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// CosignKeyPair generates an encrypted cosign key pair (password
// CosignPassword) in a temporary directory and returns the path of the
// private key and the public key in PEM. The public key file is next to the
// private key, as cosign.pub.
func CosignKeyPair(t testing.TB) (keyPath, pubPEM string) {
	t.Helper()
	dir := t.TempDir()
	runCosign(t, dir, "generate-key-pair")
	pub, err := os.ReadFile(filepath.Join(dir, "cosign.pub"))
	if err != nil {
		t.Fatalf("reading the public key cosign generated: %v", err)
	}
	keyPath = filepath.Join(dir, "cosign.key")
	if _, err := os.Stat(keyPath); err != nil {
		t.Fatalf("reading the private key cosign generated: %v", err)
	}
	return keyPath, string(pub)
}

// CosignPublicKeyPath returns the path of the public key CosignKeyPair
// wrote next to keyPath.
func CosignPublicKeyPath(keyPath string) string {
	return strings.TrimSuffix(keyPath, ".key") + ".pub"
}

// CosignSign signs the image ref (best pinned by digest) with the key at
// keyPath, offline: no transparency log, no signing config, no Fulcio.
// classic writes the signature to the sha256-<hex>.sig tag (cosign's
// --new-bundle-format=false); otherwise it is a Sigstore bundle attached as
// an OCI referrer of the image (or, where the registry has no referrers API,
// listed in the sha256-<hex> referrers tag). Each annotation becomes
// cosign's -a key=value and is signed: in the simple signing payload's
// optional map (classic) or on the in-toto statement's subject (bundle).
// The registry must not require authentication: cosign runs with an empty
// docker config.
func CosignSign(t testing.TB, keyPath, ref string, classic bool, annotations map[string]string) {
	t.Helper()
	args := append([]string{"sign"}, cosignSignFlags(keyPath, classic)...)
	keys := slices.Sorted(maps.Keys(annotations))
	for _, k := range keys {
		args = append(args, "-a", k+"="+annotations[k])
	}
	runCosign(t, t.TempDir(), append(args, ref)...)
}

// CosignAttest attaches an in-toto attestation of predicateType (a URI or
// one of cosign's short names such as slsaprovenance) with predicate as its
// predicate to the image ref, signed with the key at keyPath, offline.
// classic writes a DSSE envelope to the sha256-<hex>.att tag; otherwise it
// is a Sigstore bundle attached as an OCI referrer.
func CosignAttest(t testing.TB, keyPath, ref, predicateType string, predicate []byte, classic bool) {
	t.Helper()
	dir := t.TempDir()
	predPath := filepath.Join(dir, "predicate.json")
	if err := os.WriteFile(predPath, predicate, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"attest"}, cosignSignFlags(keyPath, classic)...)
	args = append(args, "--type", predicateType, "--predicate", predPath, ref)
	runCosign(t, dir, args...)
}

// cosignSignFlags are the flags that make sign and attest work offline
// against the plain-HTTP test registry.
func cosignSignFlags(keyPath string, classic bool) []string {
	flags := []string{
		"--key", keyPath,
		"--tlog-upload=false",
		"--use-signing-config=false",
		"--yes",
		"--allow-http-registry",
		"--allow-insecure-registry",
	}
	if classic {
		flags = append(flags, "--new-bundle-format=false")
	}
	return flags
}

// Cosign runs the cosign CLI with args, isolated and offline like every
// run of this harness, and returns its standard output; a failure fails the
// test with cosign's standard error.
func Cosign(t testing.TB, args ...string) string {
	t.Helper()
	return runCosign(t, t.TempDir(), args...)
}

// CosignErr runs the cosign CLI like Cosign but returns its failure (with
// standard error) instead of failing the test, for tests that expect cosign
// to reject something. Only a refused network access fails the test.
func CosignErr(t testing.TB, args ...string) (string, error) {
	t.Helper()
	return execCosign(t, t.TempDir(), args...)
}

func runCosign(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := execCosign(t, dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// execCosign runs cosign in dir with a clean environment: HOME, the docker
// config, cosign's TUF cache and the XDG directories in a temporary
// directory, no inherited COSIGN_*, SIGSTORE_* or CI token variables, and
// every proxy variable pointing at a trap that refuses and records each
// request. Loopback addresses (the test registry) are never proxied, so
// the trap sees exactly the attempts to reach anything else, such as the
// public Sigstore instance, and such an attempt fails the test.
func execCosign(t testing.TB, dir string, args ...string) (string, error) {
	t.Helper()
	bin := CosignCLI(t)
	home := t.TempDir()
	trap := newNetTrap(t)
	ctx, cancel := context.WithTimeout(context.Background(), cosignTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"DOCKER_CONFIG=" + filepath.Join(home, ".docker"),
		"TUF_ROOT=" + filepath.Join(home, ".sigstore", "root"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"TMPDIR=" + home,
		"COSIGN_PASSWORD=" + CosignPassword,
		"HTTPS_PROXY=" + trap.URL,
		"HTTP_PROXY=" + trap.URL,
		"https_proxy=" + trap.URL,
		"http_proxy=" + trap.URL,
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if hosts := trap.hosts(); len(hosts) > 0 {
		t.Fatalf("cosign %s tried to reach %s (the interop tests are offline; find flags that keep it local)\nstderr:\n%s",
			strings.Join(args, " "), strings.Join(hosts, ", "), stderr.String())
	}
	if ctx.Err() != nil {
		return stdout.String(), fmt.Errorf("running cosign %s: no answer within %s\nstderr:\n%s", strings.Join(args, " "), cosignTimeout, stderr.String())
	}
	if err != nil {
		return stdout.String(), fmt.Errorf("running cosign %s: %w\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// netTrap is an HTTP proxy that refuses every request and records its host.
type netTrap struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newNetTrap(t testing.TB) *netTrap {
	n := &netTrap{}
	n.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n.mu.Lock()
		n.seen = append(n.seen, req.Host)
		n.mu.Unlock()
		http.Error(w, "imagegate tests run offline", http.StatusForbidden)
	}))
	t.Cleanup(n.Close)
	return n
}

func (n *netTrap) hosts() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.seen...)
}
