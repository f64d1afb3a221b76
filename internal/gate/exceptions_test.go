package gate

import (
	"reflect"
	"testing"

	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
)

func TestMergeExceptionWarnings(t *testing.T) {
	unused := func(ex string) policy.ExceptionWarning {
		return policy.ExceptionWarning{Exception: ex, Kind: policy.ExceptionUnused, Message: ex + " unused"}
	}
	expiring := policy.ExceptionWarning{Exception: "vulnerabilities.ignore[0]", Kind: policy.ExceptionExpiring, Message: "soon"}
	platforms := []Platform{
		{Platform: "linux/amd64", Decision: policy.Decision{ExceptionWarnings: []policy.ExceptionWarning{expiring, unused("a"), unused("b")}}},
		{Platform: "linux/arm64", Decision: policy.Decision{ExceptionWarnings: []policy.ExceptionWarning{expiring, unused("b")}}},
	}
	got := mergeExceptionWarnings(platforms)
	want := []policy.ExceptionWarning{expiring, unused("b")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v (an exception used on one platform is used)", got, want)
	}
	if got := mergeExceptionWarnings(nil); got != nil {
		t.Errorf("no platforms: %+v", got)
	}
}
