package main

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
)

// The benchmark images. Everything is deterministic (fixed package lists,
// fixed creation time, a seeded PRNG for the filler bytes), so every run
// pushes the same digests and runs are comparable.
const (
	// bigBlobLayers layers of bigBlobFiles files of bigBlobFileSize random
	// (incompressible) bytes each: 7 x 4 x 8 MiB = 224 MiB compressed.
	bigBlobLayers   = 7
	bigBlobFiles    = 4
	bigBlobFileSize = 8 << 20
	// bigGoCopies is how many copies of the Go fixture binary the big image
	// holds (under different paths, as a multi-service image would).
	bigGoCopies = 5

	smallImages       = 20
	smallDebian       = 120     // dpkg entries per small image (shared base layer)
	smallNPM          = 40      // npm packages per small image (varies per image)
	smallBlobFileSize = 4 << 20 // random bytes per small image
)

// imageFacts describes a pushed image.
type imageFacts struct {
	Ref             string
	Digest          string
	Layers          int
	CompressedBytes int64 // manifest, config and layer blobs as stored in the registry
	DpkgEntries     int   // entries written to the dpkg status database
	NPMPackages     int   // package.json files under node_modules
	GoBinaries      int   // copies of the Go fixture binary
}

// randomBytes is n bytes from a ChaCha8 stream seeded by seed.
func randomBytes(seed uint64, n int) []byte {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

func sortedNames(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// debianSet is the fixtures' default packages (openssl and tar have known
// advisories) plus the first n of the static Debian 12 list.
func debianSet(n int) []fixtures.DebianPackage {
	out := append([]fixtures.DebianPackage{}, fixtures.DefaultDebianPackages...)
	out = append(out, debianPackages[:min(n, len(debianPackages))]...)
	slices.SortFunc(out, func(a, b fixtures.DebianPackage) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

var bookworm = v1.Config{
	Entrypoint: []string{"/usr/local/bin/goapp"},
	Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NODE_ENV=production"},
	User:       "app",
	WorkingDir: "/app",
}

// bigImage is the realistic image: a Debian 12 base with ~350 dpkg entries,
// an Express application with ~185 npm packages, five copies of a Go
// binary, and 224 MiB of incompressible data in seven layers.
func bigImage() (v1.Image, imageFacts, error) {
	goBin, err := fixtures.GoBinary()
	if err != nil {
		return nil, imageFacts{}, err
	}
	deb := debianSet(len(debianPackages))
	var layers []v1.Layer
	var history []v1.History
	add := func(files fixtures.Files, createdBy string) error {
		l, err := fixtures.Layer(files)
		if err != nil {
			return err
		}
		layers = append(layers, l)
		history = append(history, v1.History{Created: v1.Time{Time: fixtures.Created}, CreatedBy: createdBy})
		return nil
	}
	if err := add(fixtures.DebianFiles(deb), "ADD rootfs.tar / # debian:12"); err != nil {
		return nil, imageFacts{}, err
	}
	for l := range bigBlobLayers {
		files := fixtures.Files{}
		for f := range bigBlobFiles {
			files[fmt.Sprintf("usr/share/bench/blob-%d-%d.bin", l, f)] = randomBytes(uint64(l*bigBlobFiles+f+1), bigBlobFileSize)
		}
		if err := add(files, fmt.Sprintf("RUN apt-get install assets-%d", l)); err != nil {
			return nil, imageFacts{}, err
		}
	}
	if err := add(fixtures.NodeModules("app", npmPackages), "COPY app/ /app/"); err != nil {
		return nil, imageFacts{}, err
	}
	gofiles := fixtures.Files{"usr/local/bin/goapp": goBin}
	for i := 1; i < bigGoCopies; i++ {
		gofiles[fmt.Sprintf("opt/svc-%d/bin/svc-%d", i, i)] = goBin
	}
	if err := add(gofiles, "COPY bin/ /"); err != nil {
		return nil, imageFacts{}, err
	}
	img, err := fixtures.Image(fixtures.Spec{Layers: layers, History: history, Config: bookworm})
	if err != nil {
		return nil, imageFacts{}, err
	}
	return img, imageFacts{Layers: len(layers), DpkgEntries: len(deb), NPMPackages: len(npmPackages), GoBinaries: bigGoCopies}, nil
}

// smallImageSet is the 20 distinct images of the many-images plan: they
// share a Debian base layer and the Go binary layer, as images of one
// organisation do, and differ in their npm dependencies and their data.
func smallImageSet() ([]v1.Image, []imageFacts, error) {
	goBin, err := fixtures.GoBinary()
	if err != nil {
		return nil, nil, err
	}
	deb := debianSet(smallDebian)
	base, err := fixtures.Layer(fixtures.DebianFiles(deb))
	if err != nil {
		return nil, nil, err
	}
	goLayer, err := fixtures.Layer(fixtures.Files{"usr/local/bin/goapp": goBin})
	if err != nil {
		return nil, nil, err
	}
	names := sortedNames(npmPackages)
	var imgs []v1.Image
	var facts []imageFacts
	for i := range smallImages {
		deps := map[string]string{}
		for k := range smallNPM {
			n := names[(i*7+k)%len(names)]
			deps[n] = npmPackages[n]
		}
		app := fixtures.NodeModules("app", deps)
		app["app/BUILD_ID"] = []byte(fmt.Sprintf("service-%02d\n", i+1))
		appLayer, err := fixtures.Layer(app)
		if err != nil {
			return nil, nil, err
		}
		data, err := fixtures.Layer(fixtures.Files{"usr/share/bench/data.bin": randomBytes(uint64(1000+i), smallBlobFileSize)})
		if err != nil {
			return nil, nil, err
		}
		img, err := fixtures.Image(fixtures.Spec{Layers: []v1.Layer{base, data, appLayer, goLayer}, Config: bookworm})
		if err != nil {
			return nil, nil, err
		}
		imgs = append(imgs, img)
		facts = append(facts, imageFacts{Layers: 4, DpkgEntries: len(deb), NPMPackages: len(deps), GoBinaries: 1})
	}
	return imgs, facts, nil
}

// compressedSize is the bytes of the image's manifest, config and layer
// blobs as the registry stores them.
func compressedSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return 0, err
	}
	total := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		total += l.Size
	}
	return total, nil
}

// pushImages builds and pushes every benchmark image to host.
func pushImages(ctx context.Context, host string) (big imageFacts, small []imageFacts, err error) {
	client, err := registry.New(registry.Options{InsecureRegistries: []string{host}})
	if err != nil {
		return big, nil, err
	}
	push := func(ref string, img v1.Image, f *imageFacts) error {
		if err := client.Write(ctx, ref, img); err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
		d, err := img.Digest()
		if err != nil {
			return err
		}
		f.Ref, f.Digest = ref, d.String()
		f.CompressedBytes, err = compressedSize(img)
		return err
	}
	img, big, err := bigImage()
	if err != nil {
		return big, nil, fmt.Errorf("building the big image: %w", err)
	}
	if err := push(host+"/bench/big:1", img, &big); err != nil {
		return big, nil, err
	}
	imgs, small, err := smallImageSet()
	if err != nil {
		return big, nil, fmt.Errorf("building the small images: %w", err)
	}
	for i, img := range imgs {
		if err := push(fmt.Sprintf("%s/bench/svc-%02d:1", host, i+1), img, &small[i]); err != nil {
			return big, nil, err
		}
	}
	return big, small, nil
}
