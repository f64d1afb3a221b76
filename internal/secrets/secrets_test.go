package secrets

import (
	"slices"
	"strings"
	"testing"
)

// The secret values below all contain "S3CR3T" or are well-known token
// shapes, so a test can assert that none survives redaction.
func TestRedact(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		kinds    []string
	}{
		{"RUN /bin/sh -c apt-get update && apt-get install -y curl", "RUN /bin/sh -c apt-get update && apt-get install -y curl", nil},
		{"RUN /bin/sh -c git clone https://bot:S3CR3Tpw@git.example.com/app.git", "RUN /bin/sh -c git clone https://bot:<redacted>@git.example.com/app.git", []string{"password in a URL"}},
		{"RUN /bin/sh -c export API_TOKEN=S3CR3Tvalue && make", "RUN /bin/sh -c export API_TOKEN=<redacted> && make", []string{"variable API_TOKEN"}},
		{`RUN /bin/sh -c DB_PASSWORD="S3CR3T with space" ./migrate`, `RUN /bin/sh -c DB_PASSWORD=<redacted> ./migrate`, []string{"variable DB_PASSWORD"}},
		{"RUN /bin/sh -c docker login -u ci -p S3CR3Tpass registry.example.com", "RUN /bin/sh -c docker login -u ci -p <redacted> registry.example.com", []string{"password option"}},
		{"RUN /bin/sh -c tar -p -xf a.tar", "RUN /bin/sh -c tar -p -xf a.tar", nil},
		{"RUN /bin/sh -c mkdir -p /app", "RUN /bin/sh -c mkdir -p /app", nil},
		{"RUN /bin/sh -c chroot --userspec 1000:1000 / id && sudo -u 1000:1000 id", "RUN /bin/sh -c chroot --userspec 1000:1000 / id && sudo -u 1000:1000 id", nil},
		{"RUN /bin/sh -c tool --password=S3CR3T sync", "RUN /bin/sh -c tool --password=<redacted> sync", []string{"password option"}},
		{"RUN /bin/sh -c curl -u admin:S3CR3T https://x/", "RUN /bin/sh -c curl -u admin:<redacted> https://x/", []string{"credentials option"}},
		{`RUN /bin/sh -c curl -H "Authorization: Bearer S3CR3Ttok" https://x/`, `RUN /bin/sh -c curl -H "Authorization: Bearer <redacted>" https://x/`, []string{"Authorization header"}},
		{"RUN /bin/sh -c echo AKIAIOSFODNN7EXAMPLE > /k", "RUN /bin/sh -c echo <redacted> > /k", []string{"AWS access key id"}},
		{"RUN /bin/sh -c npm config set //r/:_authToken ghp_0123456789abcdefghijABCDEFGHIJ012345", "RUN /bin/sh -c npm config set //r/:_authToken <redacted>", []string{"GitHub token"}},
		{"RUN /bin/sh -c echo '-----BEGIN RSA PRIVATE KEY-----\nS3CR3T\n-----END RSA PRIVATE KEY-----' > k", "RUN /bin/sh -c echo '<redacted>' > k", []string{"private key"}},
		// References and paths are not credentials.
		{"RUN /bin/sh -c TOKEN=$CI_TOKEN make", "RUN /bin/sh -c TOKEN=$CI_TOKEN make", nil},
		{"RUN /bin/sh -c POSTGRES_PASSWORD_FILE=/run/s ./x", "RUN /bin/sh -c POSTGRES_PASSWORD_FILE=/run/s ./x", nil},
		{"RUN /bin/sh -c PWD=/tmp make", "RUN /bin/sh -c PWD=/tmp make", nil},
	} {
		got, kinds := Redact(tc.in)
		if got != tc.want || !slices.Equal(kinds, tc.kinds) {
			t.Errorf("Redact(%q) = %q, %q; want %q, %q", tc.in, got, kinds, tc.want, tc.kinds)
		}
		for _, secret := range []string{"S3CR3T", "AKIAIOSFODNN7EXAMPLE", "ghp_0123"} {
			if strings.Contains(got, secret) {
				t.Errorf("Redact(%q) keeps %q: %q", tc.in, secret, got)
			}
		}
	}
}

func TestSensitiveName(t *testing.T) {
	for name, want := range map[string]bool{
		"DB_PASSWORD": true, "GITHUB_TOKEN": true, "AWS_SECRET_ACCESS_KEY": true, "API_KEY": true,
		"password": true, "NPM_AUTH_TOKEN": true, "CLIENT_SECRET": true, "MYSQL_ROOT_PASSWORD": true,
		"POSTGRES_PASSWORD_FILE": false, "PATH": false, "HOME": false, "PWD": false, "GPG_KEY": false,
		"TOKENIZER_MODEL": false, "PASSENGER_VERSION": false, "LANG": false,
	} {
		if got := SensitiveName(name); got != want {
			t.Errorf("SensitiveName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestFileCandidate(t *testing.T) {
	for _, tc := range []struct {
		path    string
		ok      bool
		content string
		holds   bool
	}{
		{"/root/.ssh/id_rsa", true, "", true},
		{"/root/.ssh/id_rsa.pub", false, "", false},
		{"/home/app/.aws/credentials", true, "", true},
		{"/root/.docker/config.json", true, `{"auths":{"r":{"auth":"S3CR3T"}}}`, true},
		{"/root/.docker/config.json", true, `{"auths":{},"credsStore":"desktop"}`, false},
		{"/app/tls/server.key", true, "-----BEGIN PRIVATE KEY-----\n", true},
		{"/etc/ssl/certs/ca.pem", true, "-----BEGIN CERTIFICATE-----\n", false},
		{"/app/.npmrc", true, "//r/:_authToken=S3CR3T\n", true},
		{"/app/.npmrc", true, "//r/:_authToken=${NPM_TOKEN}\n", false},
		{"/usr/share/doc/readme", false, "", false},
	} {
		_, check, ok := FileCandidate(tc.path)
		if ok != tc.ok {
			t.Errorf("FileCandidate(%q) = %v, want %v", tc.path, ok, tc.ok)
			continue
		}
		if ok && ContentHolds(check, []byte(tc.content)) != tc.holds {
			t.Errorf("ContentHolds(%q, %q) = %v, want %v", tc.path, tc.content, !tc.holds, tc.holds)
		}
	}
}
