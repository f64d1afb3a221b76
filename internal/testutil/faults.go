package testutil

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Fault answers a request itself and returns true, or returns false to let
// the registry answer it.
type Fault func(w http.ResponseWriter, r *http.Request) bool

// Faulty serves the registry's content through fault on another loopback
// address (closed when the test ends), and returns that host:port.
func (r *Registry) Faulty(t testing.TB, fault Fault) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !fault(w, req) {
			r.Server.Config.Handler.ServeHTTP(w, req)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}
