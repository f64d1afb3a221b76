package gate

import (
	"slices"

	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
)

// mergeExceptionWarnings merges the exception warnings of the platform
// images: expiry warnings depend only on the policy and the time, so they
// are the same on each; an exception is unused only when no platform's
// findings use it.
func mergeExceptionWarnings(platforms []Platform) []policy.ExceptionWarning {
	if len(platforms) == 0 {
		return nil
	}
	var out []policy.ExceptionWarning
	for _, w := range platforms[0].Decision.ExceptionWarnings {
		usedElsewhere := slices.ContainsFunc(platforms[1:], func(p Platform) bool {
			return !slices.Contains(p.Decision.ExceptionWarnings, w)
		})
		if w.Kind != policy.ExceptionUnused || !usedElsewhere {
			out = append(out, w)
		}
	}
	return out
}
