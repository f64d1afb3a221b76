package provider

import (
	"context"
	"encoding/base64"
	"log/slog"
	"maps"
	"net/url"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/imagegate/terraform-provider-imagegate/internal/obs"
)

// logged returns ctx prepared for the domain packages to log: one tflog
// subsystem per domain area (obs.Subsystems), each masking the configured
// credentials as a second line of defence (the domain never logs them),
// and an slog logger (obs.With) whose records go to those subsystems.
// Every CRUD and Read entry point calls it first.
func logged(ctx context.Context, d *providerData) context.Context {
	var secrets []string
	if d != nil {
		secrets = d.secrets
	}
	if len(secrets) > 0 {
		ctx = tflog.MaskLogStrings(ctx, secrets...)
	}
	for _, s := range obs.Subsystems {
		ctx = tflog.NewSubsystem(ctx, s)
		if len(secrets) > 0 {
			ctx = tflog.SubsystemMaskLogStrings(ctx, s, secrets...)
		}
	}
	return obs.With(ctx, slog.New(&tflogHandler{ctx: ctx}))
}

// logSecrets lists what must never appear in a log line: each password and
// identity token, the base64 of user:password as an Authorization header
// carries it, the credentials of the database's update URL, and the
// signing key's password.
func logSecrets(auth []registryAuthModel, updateURL string, att *registryAttestationsModel) []string {
	var out []string
	if att != nil && att.SigningKeyPassword.ValueString() != "" {
		out = append(out, att.SigningKeyPassword.ValueString())
	}
	if u, err := url.Parse(updateURL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p)
		}
	}
	for _, a := range auth {
		if p := a.Password.ValueString(); p != "" {
			out = append(out, p, base64.StdEncoding.EncodeToString([]byte(a.Username.ValueString()+":"+p)))
		}
		if t := a.IdentityToken.ValueString(); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// tflogHandler is an slog.Handler that writes to tflog: a record's
// subsystem attribute picks the tflog subsystem, the level the tflog
// level (below Debug is Trace), and the other attributes become fields.
// tflog itself filters by TF_LOG, so every level is enabled here.
type tflogHandler struct {
	// ctx carries tflog's logger and subsystems: the entry point's, since
	// domain code may log with a context derived from it or with none.
	ctx       context.Context
	subsystem string
	group     string
	attrs     map[string]any
}

func (h *tflogHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *tflogHandler) Handle(_ context.Context, r slog.Record) error {
	fields := make(map[string]any, len(h.attrs)+r.NumAttrs())
	maps.Copy(fields, h.attrs)
	sub := h.subsystem
	r.Attrs(func(a slog.Attr) bool {
		if h.group == "" && a.Key == obs.SubsystemKey {
			sub = a.Value.String()
		} else {
			addField(fields, h.group, a)
		}
		return true
	})
	switch {
	case sub == "":
		rootLog(h.ctx, r.Level, r.Message, fields)
	case r.Level >= slog.LevelError:
		tflog.SubsystemError(h.ctx, sub, r.Message, fields)
	case r.Level >= slog.LevelWarn:
		tflog.SubsystemWarn(h.ctx, sub, r.Message, fields)
	case r.Level >= slog.LevelInfo:
		tflog.SubsystemInfo(h.ctx, sub, r.Message, fields)
	case r.Level >= slog.LevelDebug:
		tflog.SubsystemDebug(h.ctx, sub, r.Message, fields)
	default:
		tflog.SubsystemTrace(h.ctx, sub, r.Message, fields)
	}
	return nil
}

func rootLog(ctx context.Context, level slog.Level, msg string, fields map[string]any) {
	switch {
	case level >= slog.LevelError:
		tflog.Error(ctx, msg, fields)
	case level >= slog.LevelWarn:
		tflog.Warn(ctx, msg, fields)
	case level >= slog.LevelInfo:
		tflog.Info(ctx, msg, fields)
	case level >= slog.LevelDebug:
		tflog.Debug(ctx, msg, fields)
	default:
		tflog.Trace(ctx, msg, fields)
	}
}

func (h *tflogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := &tflogHandler{ctx: h.ctx, subsystem: h.subsystem, group: h.group, attrs: make(map[string]any, len(h.attrs)+len(attrs))}
	maps.Copy(c.attrs, h.attrs)
	for _, a := range attrs {
		if h.group == "" && a.Key == obs.SubsystemKey {
			c.subsystem = a.Value.String()
			continue
		}
		addField(c.attrs, h.group, a)
	}
	return c
}

func (h *tflogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = h.group + name + "."
	return &c
}

// addField adds a as a tflog field: durations as "1.5s", times in RFC
// 3339, groups flattened to dotted keys.
func addField(fields map[string]any, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		for _, g := range v.Group() {
			addField(fields, prefix+a.Key+".", g)
		}
	case slog.KindDuration:
		fields[prefix+a.Key] = v.Duration().Round(time.Millisecond).String()
	case slog.KindTime:
		fields[prefix+a.Key] = v.Time().UTC().Format(time.RFC3339)
	default:
		fields[prefix+a.Key] = v.Any()
	}
}
