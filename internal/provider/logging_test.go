package provider

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"

	"github.com/imagegate/terraform-provider-imagegate/internal/obs"
)

// Domain records reach tflog in their subsystem, at their level, with
// their fields (durations readable); the configured credentials are masked
// even if a domain package ever logged them.
func TestLoggedForwardsToSubsystems(t *testing.T) {
	var buf bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &buf)
	auth := []registryAuthModel{{Address: types.StringValue("r.example"), Username: types.StringValue("deploy"), Password: types.StringValue("pa55-w0rd-x")}}
	att := &registryAttestationsModel{SigningKeyPassword: types.StringValue("key-pa55-x")}
	ctx = logged(ctx, &providerData{secrets: logSecrets(auth, "https://u:url-pa55@db.example/latest.json", att)})
	basic := base64.StdEncoding.EncodeToString([]byte("deploy:pa55-w0rd-x"))

	obs.From(ctx, obs.Scan).Info("cataloged the image", "packages", 8, "duration", 1500*time.Millisecond)
	obs.From(ctx, obs.Registry).Debug("pulled layer", "header", "Basic "+basic, "password", "pa55-w0rd-x")
	obs.Trace(ctx, obs.From(ctx, obs.VulnDB), "trace detail", "url", "https://u:url-pa55@db.example/latest.json", "key", "key-pa55-x")

	entries, err := tflogtest.MultilineJSONDecode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("%d entries, want 3: %s", len(entries), buf.String())
	}
	want := []struct{ module, level, message string }{
		{"provider.scan", "info", "cataloged the image"},
		{"provider.registry", "debug", "pulled layer"},
		{"provider.vulndb", "trace", "trace detail"},
	}
	for i, w := range want {
		e := entries[i]
		if e["@module"] != w.module || e["@level"] != w.level || e["@message"] != w.message {
			t.Errorf("entry %d: %v; want module %s, level %s, message %q", i, e, w.module, w.level, w.message)
		}
	}
	if entries[0]["duration"] != "1.5s" || entries[0]["packages"] != float64(8) {
		t.Errorf("fields of the first entry: %v", entries[0])
	}
	out := buf.String()
	if strings.Contains(out, "subsystem") {
		t.Errorf("the subsystem attribute leaked into the fields: %s", out)
	}
	for _, secret := range []string{"pa55-w0rd-x", basic, "url-pa55", "key-pa55-x"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds %q: %s", secret, out)
		}
	}
}
