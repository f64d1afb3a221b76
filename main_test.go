package main

import (
	"maps"
	"testing"
)

// The SDK's and the provider's loggers are turned off only when the CLI
// collects no provider logs, and a level the user set is always kept.
func TestQuietUnlessAsked(t *testing.T) {
	for name, c := range map[string]struct {
		env, want map[string]string
	}{
		"no logging asked for": {
			env:  map[string]string{},
			want: map[string]string{"TF_LOG_SDK": "off", "TF_LOG_SDK_PROTO": "off", "TF_LOG_SDK_FRAMEWORK": "off", "TF_LOG_PROVIDER_IMAGEGATE": "off"},
		},
		"TF_LOG": {
			env:  map[string]string{"TF_LOG": "trace"},
			want: map[string]string{"TF_LOG": "trace"},
		},
		"TF_LOG_PROVIDER": {
			env:  map[string]string{"TF_LOG_PROVIDER": "debug"},
			want: map[string]string{"TF_LOG_PROVIDER": "debug"},
		},
		"a level the user set": {
			env:  map[string]string{"TF_LOG_SDK_FRAMEWORK": "info"},
			want: map[string]string{"TF_LOG_SDK": "off", "TF_LOG_SDK_PROTO": "off", "TF_LOG_SDK_FRAMEWORK": "info", "TF_LOG_PROVIDER_IMAGEGATE": "off"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			env := maps.Clone(c.env)
			quietUnlessAsked(func(k string) string { return env[k] }, func(k, v string) error { env[k] = v; return nil })
			if !maps.Equal(env, c.want) {
				t.Errorf("environment %v, want %v", env, c.want)
			}
		})
	}
}
