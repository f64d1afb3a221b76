package testutil

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// IsBlobUpload reports whether r is part of a blob upload: the POST that
// starts it (or mounts the blob), a PATCH of its data, or the PUT that
// commits it.
func IsBlobUpload(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPatch, http.MethodPut:
		return strings.Contains(r.URL.Path, "/blobs/uploads")
	}
	return false
}

// FailBlobUploads answers status to the n-th blob upload request (counting
// from 1 every POST, PATCH and PUT under /blobs/uploads) and to the times-1
// upload requests after it; the others reach the registry. With times
// larger than the client's retries, an upload fails for good mid-copy,
// and a later attempt succeeds.
func FailBlobUploads(n, times, status int) Fault {
	var mu sync.Mutex
	seen := 0
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !IsBlobUpload(r) {
			return false
		}
		mu.Lock()
		seen++
		k := seen
		mu.Unlock()
		if k < n || k >= n+times {
			return false
		}
		writeRegistryError(w, status, "BLOB_UPLOAD_INVALID", "injected failure of a blob upload")
		return true
	}
}

// RefuseMounts answers 403 DENIED to cross-repository mount requests, as
// registries that do not allow mounting from another repository do.
func RefuseMounts() Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || r.URL.Query().Get("mount") == "" {
			return false
		}
		writeRegistryError(w, http.StatusForbidden, "DENIED", "cross-repository mounts are not allowed")
		return true
	}
}

// RefuseDelete answers DELETE requests with 405 UNSUPPORTED, as registries
// whose deletion is disabled do.
func RefuseDelete() Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodDelete {
			return false
		}
		writeRegistryError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "The operation is unsupported.")
		return true
	}
}

// Status answers status to every request that match selects.
func Status(status int, match func(*http.Request) bool) Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !match(r) {
			return false
		}
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		code := "UNKNOWN"
		if status == http.StatusTooManyRequests {
			code = "TOOMANYREQUESTS"
		}
		writeRegistryError(w, status, code, "injected answer")
		return true
	}
}

// Hang holds every request that match selects until the client gives up
// (or for d at most), without answering.
func Hang(d time.Duration, match func(*http.Request) bool) Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !match(r) {
			return false
		}
		select {
		case <-r.Context().Done():
		case <-time.After(d):
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	}
}

func writeRegistryError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"errors":[{"code":"` + code + `","message":"` + message + `"}]}`))
}
