package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// TestVerdictPublishes: only a change that alters what the verdict says or
// who signs it attaches a new one; timeouts or the reference's spelling
// only update the state.
func TestVerdictPublishes(t *testing.T) {
	platforms := func(ps ...string) types.List {
		if len(ps) == 0 {
			return types.ListNull(types.StringType)
		}
		vs := make([]attr.Value, len(ps))
		for i, p := range ps {
			vs[i] = types.StringValue(p)
		}
		return types.ListValueMust(types.StringType, vs)
	}
	state := verdictModel{
		ID: types.StringValue("r.example/app@sha256:aa"), PolicyID: types.StringValue("sha256:p1"), PublicKey: types.StringValue("PUB1"),
		Platforms: platforms(), AttestationDigest: types.StringValue("sha256:att"),
	}
	for name, c := range map[string]struct {
		edit func(m *verdictModel)
		want bool
	}{
		"unchanged":       {func(*verdictModel) {}, false},
		"new spelling":    {func(m *verdictModel) { m.Reference = types.StringValue("r.example/app:1") }, false},
		"new digest":      {func(m *verdictModel) { m.ID = types.StringValue("r.example/app@sha256:bb") }, true},
		"new policy":      {func(m *verdictModel) { m.PolicyID = types.StringValue("sha256:p2") }, true},
		"new key":         {func(m *verdictModel) { m.PublicKey = types.StringValue("PUB2") }, true},
		"key known later": {func(m *verdictModel) { m.PublicKey = types.StringUnknown() }, true},
		"platforms":       {func(m *verdictModel) { m.Platforms = platforms("linux/arm64") }, true},
		"never attached":  {func(m *verdictModel) {}, true},
	} {
		t.Run(name, func(t *testing.T) {
			s, plan := state, state
			if name == "never attached" {
				s.AttestationDigest = types.StringNull()
			}
			c.edit(&plan)
			if got := publishes(&s, &plan); got != c.want {
				t.Errorf("publishes = %v, want %v", got, c.want)
			}
		})
	}
	if !publishes(nil, &state) {
		t.Error("a first verdict is not published")
	}
}
