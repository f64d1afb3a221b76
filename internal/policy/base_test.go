package policy

import (
	"slices"
	"strings"
	"testing"
)

func digestOf(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }

func TestBaseImage(t *testing.T) {
	layers := []string{"sha256:l1", "sha256:l2", "sha256:l3", "sha256:l4"}
	static := BaseCandidate{Trusted: "cgr.dev/chainguard/*", Repository: "cgr.dev/chainguard/static", Digest: digestOf('1'), Tags: []string{"latest"}, DiffIDs: layers[:2]}
	staticOther := BaseCandidate{Trusted: "cgr.dev/chainguard/*", Repository: "cgr.dev/chainguard/static", Digest: digestOf('2'), Tags: []string{"latest"}, DiffIDs: []string{"sha256:l1", "sha256:lx"}}
	alpine := BaseCandidate{Trusted: "alpine:3.20", Repository: "index.docker.io/library/alpine", Digest: digestOf('3'), Tags: []string{"3.20"}, DiffIDs: layers[:1]}
	alpine319 := BaseCandidate{Repository: "index.docker.io/library/alpine", Digest: digestOf('4'), Tags: []string{"3.19"}, DiffIDs: layers[:1]}
	debian := BaseCandidate{Trusted: "debian@" + digestOf('5'), Repository: "index.docker.io/library/debian", Digest: digestOf('5'), DiffIDs: layers[:3]}
	debianNew := BaseCandidate{Repository: "index.docker.io/library/debian", Digest: digestOf('6'), DiffIDs: layers[:3]}
	evil := BaseCandidate{Repository: "evil.io/base", Digest: digestOf('7'), Tags: []string{"1"}, DiffIDs: layers[:3]}
	// Multi-platform bases: the platform manifest digest and the digest of
	// the index it was chosen from.
	node := BaseCandidate{Repository: "index.docker.io/library/node", Digest: digestOf('a'), IndexDigest: digestOf('b'), Tags: []string{"22"}, DiffIDs: layers[:2]}
	nodeUnpinned := BaseCandidate{Repository: "index.docker.io/library/node", Digest: digestOf('a'), DiffIDs: layers[:2]}
	nodeOtherPlatform := BaseCandidate{Repository: "index.docker.io/library/node", Digest: digestOf('c'), IndexDigest: digestOf('b'), DiffIDs: []string{"sha256:arm"}}
	staticIdx := static
	staticIdx.IndexDigest = digestOf('e')
	evilIdx := evil
	evilIdx.IndexDigest = digestOf('f')
	trusted := []string{"cgr.dev/chainguard/*", "alpine:3.20", "debian@" + digestOf('5'), "node@" + digestOf('b')}
	trustedList := "alpine:3.20, cgr.dev/chainguard/*, debian@" + digestOf('5') + ", node@" + digestOf('b') // sorted

	tests := []struct {
		name     string
		require  bool
		image    Image // DiffIDs default to layers
		cands    []BaseCandidate
		wantSubj string // "" means no violation
		wantMsg  string
	}{
		{name: "trusted base by glob, proved by layers", require: true, cands: []BaseCandidate{staticOther, static}},
		{name: "trusted base by tag", require: true, cands: []BaseCandidate{alpine}},
		{name: "trusted base by digest", require: true, cands: []BaseCandidate{debian}},
		{name: "candidate is the whole image", require: true, image: Image{DiffIDs: layers[:2]}, cands: []BaseCandidate{static}},
		{name: "layers do not match, require", require: true, cands: []BaseCandidate{staticOther},
			wantSubj: "base image", wantMsg: "a trusted base is required, but the layers of no trusted base (" + trustedList + ") are the bottom of the image's; checked: cgr.dev/chainguard/static@" + digestOf('2')},
		{name: "layers do not match, not required", cands: []BaseCandidate{staticOther}},
		{name: "require with no evidence", require: true,
			wantSubj: "base image", wantMsg: "a trusted base is required, but none of the trusted bases (" + trustedList + ") could be resolved to compare layers with"},
		{name: "no evidence, not required, nothing claimed"},
		{name: "empty candidate layers prove nothing", require: true, cands: []BaseCandidate{{Trusted: "cgr.dev/chainguard/*", Repository: "cgr.dev/chainguard/static", Digest: digestOf('1')}},
			wantSubj: "base image", wantMsg: "a trusted base is required, but the layers of no trusted base (" + trustedList + ") are the bottom of the image's; checked: cgr.dev/chainguard/static@" + digestOf('1')},
		{name: "candidate longer than the image proves nothing", require: true, image: Image{DiffIDs: layers[:1]}, cands: []BaseCandidate{static},
			wantSubj: "base image", wantMsg: "a trusted base is required, but the layers of no trusted base (" + trustedList + ") are the bottom of the image's; checked: cgr.dev/chainguard/static@" + digestOf('1')},
		{name: "tag not trusted", require: true, cands: []BaseCandidate{alpine319},
			wantSubj: "base image", wantMsg: "a trusted base is required, but the layers of no trusted base (" + trustedList + ") are the bottom of the image's; checked: index.docker.io/library/alpine@" + digestOf('4')},
		{name: "digest not trusted", require: true, cands: []BaseCandidate{debianNew},
			wantSubj: "base image", wantMsg: "a trusted base is required, but the layers of no trusted base (" + trustedList + ") are the bottom of the image's; checked: index.docker.io/library/debian@" + digestOf('6')},
		{name: "trust is checked again, not taken from the candidate", require: true,
			cands:    []BaseCandidate{{Trusted: "cgr.dev/chainguard/*", Repository: "evil.io/chainguard/static", Digest: digestOf('8'), DiffIDs: layers[:2]}},
			wantSubj: "base image", wantMsg: "a trusted base is required, but the layers of no trusted base (" + trustedList + ") are the bottom of the image's; checked: evil.io/chainguard/static@" + digestOf('8')},
		{name: "annotation by name and digest, proved", require: true,
			image: Image{BaseName: "cgr.dev/chainguard/static:latest", BaseDigest: digestOf('1')}, cands: []BaseCandidate{static}},
		{name: "annotation by docker.io name with tag, proved",
			image: Image{BaseName: "docker.io/library/alpine:3.20"}, cands: []BaseCandidate{alpine}},
		{name: "annotation by digest only, proved",
			image: Image{BaseDigest: digestOf('5')}, cands: []BaseCandidate{debian}},
		{name: "forged annotation: claimed trusted base, layers differ",
			image: Image{BaseName: "cgr.dev/chainguard/static:latest", BaseDigest: digestOf('2')}, cands: []BaseCandidate{staticOther},
			wantSubj: "cgr.dev/chainguard/static:latest@" + digestOf('2'),
			wantMsg:  "the image's annotations claim base cgr.dev/chainguard/static:latest@" + digestOf('2') + ", but its layers do not match the image's (forged or stale annotation)"},
		{name: "forged annotation by digest only",
			image: Image{BaseDigest: digestOf('5')}, cands: []BaseCandidate{{Trusted: "debian@" + digestOf('5'), Repository: "debian", Digest: digestOf('5'), DiffIDs: []string{"sha256:zz"}}},
			wantSubj: digestOf('5'), wantMsg: "the image's annotations claim base " + digestOf('5') + ", but its layers do not match the image's (forged or stale annotation)"},
		{name: "forged annotation while not required is still a violation",
			image: Image{BaseName: "alpine:3.20"}, cands: []BaseCandidate{{Repository: "index.docker.io/library/alpine", Digest: digestOf('9'), Tags: []string{"3.20"}, DiffIDs: []string{"sha256:zz"}}},
			wantSubj: "alpine:3.20", wantMsg: "the image's annotations claim base alpine:3.20, but its layers do not match the image's (forged or stale annotation)"},
		{name: "claimed trusted base not resolved",
			image:    Image{BaseName: "cgr.dev/chainguard/go:latest"},
			wantSubj: "cgr.dev/chainguard/go:latest", wantMsg: "the image's annotations claim base cgr.dev/chainguard/go:latest, but that base could not be resolved to compare its layers with the image's, so the claim is not proved"},
		{name: "claimed trusted base does not match, but another trusted base is proved",
			image: Image{BaseName: "cgr.dev/chainguard/static:latest", BaseDigest: digestOf('2')}, cands: []BaseCandidate{staticOther, alpine}},
		{name: "annotated base proved by layers but not trusted",
			image: Image{BaseName: "evil.io/base:1"}, cands: []BaseCandidate{evil},
			wantSubj: "evil.io/base:1", wantMsg: "base evil.io/base:1 is not in the trusted list (its layers are the bottom of the image's; trusted: " + trustedList + ")"},
		{name: "annotated untrusted base proved, even above a trusted base",
			image: Image{BaseName: "evil.io/base:1", BaseDigest: digestOf('7')}, cands: []BaseCandidate{alpine, evil},
			wantSubj: "evil.io/base:1@" + digestOf('7'), wantMsg: "base evil.io/base:1@" + digestOf('7') + " is not in the trusted list (its layers are the bottom of the image's; trusted: " + trustedList + ")"},
		{name: "annotated untrusted base, nothing proved, not required",
			image:    Image{BaseName: "evil.io/base:1"},
			wantSubj: "evil.io/base:1", wantMsg: "the image's annotations name base evil.io/base:1, which is not in the trusted list (" + trustedList + "), and no trusted base is proved by the image's layers"},
		{name: "annotated untrusted base not resolved, trusted base proved",
			image: Image{BaseName: "evil.io/base:1"}, cands: []BaseCandidate{alpine}},
		{name: "trusted entry pinned by index digest proves the base", require: true, cands: []BaseCandidate{node}},
		{name: "trusted entry pinned by index digest, candidate resolved without its index", require: true, cands: []BaseCandidate{nodeUnpinned},
			wantSubj: "base image", wantMsg: "a trusted base is required, but the layers of no trusted base (" + trustedList + ") are the bottom of the image's; checked: index.docker.io/library/node@" + digestOf('a')},
		{name: "trusted index digest, layers of another platform", require: true, cands: []BaseCandidate{nodeOtherPlatform},
			wantSubj: "base image", wantMsg: "a trusted base is required, but the layers of no trusted base (" + trustedList + ") are the bottom of the image's; checked: index.docker.io/library/node@" + digestOf('c')},
		{name: "an index digest is not a platform digest for a trusted entry pinned to the platform", require: true,
			cands:    []BaseCandidate{{Repository: "index.docker.io/library/debian", Digest: digestOf('6'), IndexDigest: digestOf('7'), DiffIDs: layers[:3]}},
			wantSubj: "base image", wantMsg: "a trusted base is required, but the layers of no trusted base (" + trustedList + ") are the bottom of the image's; checked: index.docker.io/library/debian@" + digestOf('6')},
		{name: "trusted entry pinned by platform digest, candidate from an index", require: true,
			cands: []BaseCandidate{{Repository: "index.docker.io/library/debian", Digest: digestOf('5'), IndexDigest: digestOf('7'), DiffIDs: layers[:3]}}},
		{name: "annotation digest is the index digest, covered and proved",
			image: Image{BaseName: "cgr.dev/chainguard/static:latest", BaseDigest: digestOf('e')}, cands: []BaseCandidate{staticIdx}},
		{name: "annotation by index digest only, proved by the index-pinned entry",
			image: Image{BaseDigest: digestOf('b')}, cands: []BaseCandidate{node}},
		{name: "annotation by index digest in the name, proved",
			image: Image{BaseName: "docker.io/library/node@" + digestOf('b')}, cands: []BaseCandidate{node}},
		{name: "annotation by index digest, layers differ: forged, not unresolved",
			image:    Image{BaseName: "cgr.dev/chainguard/static:latest", BaseDigest: digestOf('e')},
			cands:    []BaseCandidate{{Repository: "cgr.dev/chainguard/static", Digest: digestOf('2'), IndexDigest: digestOf('e'), DiffIDs: []string{"sha256:zz"}}},
			wantSubj: "cgr.dev/chainguard/static:latest@" + digestOf('e'),
			wantMsg:  "the image's annotations claim base cgr.dev/chainguard/static:latest@" + digestOf('e') + ", but its layers do not match the image's (forged or stale annotation)"},
		{name: "annotation by index digest of a base trusted by its platform digest, layers differ",
			image:    Image{BaseName: "docker.io/library/debian:12", BaseDigest: digestOf('8')},
			cands:    []BaseCandidate{{Repository: "index.docker.io/library/debian", Digest: digestOf('5'), IndexDigest: digestOf('8'), DiffIDs: []string{"sha256:zz"}}},
			wantSubj: "docker.io/library/debian:12@" + digestOf('8'),
			wantMsg:  "the image's annotations claim base docker.io/library/debian:12@" + digestOf('8') + ", but its layers do not match the image's (forged or stale annotation)"},
		{name: "untrusted intermediate base annotated by index digest, proved by layers, above a trusted base",
			image: Image{BaseName: "evil.io/base:1", BaseDigest: digestOf('f')}, cands: []BaseCandidate{alpine, evilIdx},
			wantSubj: "evil.io/base:1@" + digestOf('f'), wantMsg: "base evil.io/base:1@" + digestOf('f') + " is not in the trusted list (its layers are the bottom of the image's; trusted: " + trustedList + ")"},
		{name: "untrusted base annotated by index digest in the name, proved by layers",
			image: Image{BaseName: "evil.io/base@" + digestOf('f')}, cands: []BaseCandidate{node, evilIdx},
			wantSubj: "evil.io/base@" + digestOf('f'), wantMsg: "base evil.io/base@" + digestOf('f') + " is not in the trusted list (its layers are the bottom of the image's; trusted: " + trustedList + ")"},
		{name: "annotated trusted digest-pinned base with another digest is untrusted",
			image:    Image{BaseName: "docker.io/library/debian:12", BaseDigest: digestOf('6')},
			wantSubj: "docker.io/library/debian:12@" + digestOf('6'), wantMsg: "the image's annotations name base docker.io/library/debian:12@" + digestOf('6') + ", which is not in the trusted list (" + trustedList + "), and no trusted base is proved by the image's layers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := tt.image
			img.Repository = "ghcr.io/acme/app"
			if img.DiffIDs == nil {
				img.DiffIDs = layers
			}
			require := tt.require
			p := &Policy{BaseImage: &BaseImageRule{Trusted: trusted, Require: &require}}
			d := Evaluate(p, Facts{Now: now, Image: img, BaseCandidates: tt.cands})
			if tt.wantSubj == "" {
				if !d.Passed || len(d.Violations) != 0 {
					t.Fatalf("violations: %+v", d.Violations)
				}
				return
			}
			msg := tt.wantMsg
			if tt.wantSubj == "base image" { // unannotated: the message says how to nominate or pin a base
				msg += unannotatedNote
			}
			want := []Violation{{Rule: RuleBaseImage, Action: ActionStop, CIS: CISBaseImage, Subject: tt.wantSubj, Message: msg}}
			if d.Passed || !slices.Equal(d.Violations, want) {
				t.Errorf("got  %+v\nwant %+v", d.Violations, want)
			}
		})
	}
}

// unannotatedNote ends the message of an unannotated image that proves none
// of TestBaseImage's trusted bases.
const unannotatedNote = ". The image has no base annotations; " +
	"if the image was built on an earlier manifest of alpine:3.20 (the tag has moved since), trust the repository entry without the tag and annotate the image with " +
	"org.opencontainers.image.base.name and org.opencontainers.image.base.digest naming that manifest, or list that manifest by digest; " +
	"a repository entry or glob (cgr.dev/chainguard/*) is compared only with the manifest the image's annotations name (and a repository entry with its latest tag), " +
	"since a registry cannot list every manifest a repository ever had: annotate the image with org.opencontainers.image.base.name and org.opencontainers.image.base.digest, or list the base by digest"

func TestBaseImageWarn(t *testing.T) {
	p := &Policy{BaseImage: &BaseImageRule{Action: ActionWarn, Trusted: []string{"cgr.dev/chainguard/*"}}}
	d := Evaluate(p, Facts{Image: Image{Repository: "ghcr.io/a/b", DiffIDs: []string{"sha256:a"}}})
	if !d.Passed || len(d.Violations) != 1 || d.Violations[0].Action != ActionWarn {
		t.Errorf("got %+v", d)
	}
}
