// Package obs is the logging seam of the domain packages: they log with
// log/slog, taking the logger from the context, and never import
// terraform-plugin-log. The provider installs a logger whose handler
// forwards to tflog, one subsystem per domain area; without one (tests,
// other callers) nothing is logged.
//
// Levels: Info tells the story of a plan (a database opened, an image
// resolved and cataloged, a rule's outcome); Debug and Trace carry the
// details (each layer, each cache decision). Nothing secret is ever
// logged: no credentials, no URL userinfo or query, no file contents.
package obs

import (
	"context"
	"log/slog"
)

// The subsystems, one per domain area.
const (
	VulnDB   = "vulndb"
	Registry = "registry"
	Scan     = "scan"
	Policy   = "policy"
	Gate     = "gate"
	Verify   = "verify"
	Promote  = "promote"
)

// Subsystems lists every subsystem, for a handler that must create them.
var Subsystems = []string{VulnDB, Registry, Scan, Policy, Gate, Verify, Promote}

// SubsystemKey is the attribute that names a record's subsystem.
const SubsystemKey = "subsystem"

// LevelTrace is below slog.LevelDebug, for the finest details.
const LevelTrace = slog.LevelDebug - 4

type key struct{}

var discard = slog.New(slog.DiscardHandler)

// With returns ctx carrying l for the domain packages to log with.
func With(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, key{}, l)
}

// From returns the logger of ctx for a subsystem: records carry the
// subsystem attribute. Without a logger in ctx it discards everything.
func From(ctx context.Context, subsystem string) *slog.Logger {
	l, ok := ctx.Value(key{}).(*slog.Logger)
	if !ok || l == nil {
		return discard
	}
	return l.With(SubsystemKey, subsystem)
}

// Trace logs at LevelTrace.
func Trace(ctx context.Context, l *slog.Logger, msg string, args ...any) {
	l.Log(ctx, LevelTrace, msg, args...)
}
