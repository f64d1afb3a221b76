package vulndb

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The grype CLI's environment variables for its database settings. A
// provider configuration that leaves a setting unset takes it from these,
// so a CI job that already runs grype shares its database setup.
const (
	EnvCacheDir   = "GRYPE_DB_CACHE_DIR"
	EnvUpdateURL  = "GRYPE_DB_UPDATE_URL"
	EnvAutoUpdate = "GRYPE_DB_AUTO_UPDATE"
	EnvMaxAge     = "GRYPE_DB_MAX_ALLOWED_BUILT_AGE"
	EnvCACert     = "GRYPE_DB_CA_CERT"
)

// Env is what the grype environment variables set: a field is the zero
// value (nil for AutoUpdate) when its variable is unset or empty.
type Env struct {
	CacheDir   string
	UpdateURL  string
	AutoUpdate *bool
	MaxAge     time.Duration
	CACert     string
}

// ReadEnv reads the grype database variables through lookup (os.Getenv in
// the provider). A variable that is set but cannot be parsed is an error
// naming it and saying what it must be; every bad variable is reported.
func ReadEnv(lookup func(string) string) (Env, error) {
	get := func(name string) string { return strings.TrimSpace(lookup(name)) }
	e := Env{CacheDir: get(EnvCacheDir), UpdateURL: get(EnvUpdateURL), CACert: get(EnvCACert)}
	var errs []error
	if v := get(EnvAutoUpdate); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not a boolean: set it to true or false, or unset it", EnvAutoUpdate, v))
		} else {
			e.AutoUpdate = &b
		}
	}
	if v := get(EnvMaxAge); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s=%q is not a Go duration: set it to a positive duration such as 120h, or unset it", EnvMaxAge, v))
		case d <= 0:
			errs = append(errs, fmt.Errorf("%s=%q is not positive: set it to a positive duration such as 120h, or unset it", EnvMaxAge, v))
		default:
			e.MaxAge = d
		}
	}
	return e, errors.Join(errs...)
}
