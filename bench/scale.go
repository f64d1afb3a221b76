package main

import (
	"context"
	"fmt"
	"log"
	"maps"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
)

// tinyImages is how many distinct digests the cached-digests plan reads.
const tinyImages = 100

// tinyImageSet is the images of the cached-digests plan: the small images'
// Debian base layer and a layer of their own (a build id and a few npm
// packages from the same list), so each has its own digest and its own
// cache entry while the push stays small.
func tinyImageSet() ([]v1.Image, error) {
	base, err := fixtures.Layer(fixtures.DebianFiles(debianSet(smallDebian)))
	if err != nil {
		return nil, err
	}
	names := sortedNames(npmPackages)
	var imgs []v1.Image
	for i := range tinyImages {
		deps := map[string]string{}
		for k := range 3 {
			n := names[(i*3+k)%len(names)]
			deps[n] = npmPackages[n]
		}
		app := fixtures.NodeModules("app", deps)
		app["app/BUILD_ID"] = []byte(fmt.Sprintf("tiny-%03d\n", i+1))
		appLayer, err := fixtures.Layer(app)
		if err != nil {
			return nil, err
		}
		img, err := fixtures.Image(fixtures.Spec{Layers: []v1.Layer{base, appLayer}, Config: bookworm})
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}

// pushTinyImages pushes the cached-digests images and returns their
// references.
func pushTinyImages(ctx context.Context, host string) ([]string, error) {
	client, err := registry.New(registry.Options{InsecureRegistries: []string{host}})
	if err != nil {
		return nil, err
	}
	imgs, err := tinyImageSet()
	if err != nil {
		return nil, fmt.Errorf("building the tiny images: %w", err)
	}
	var refs []string
	for i, img := range imgs {
		ref := fmt.Sprintf("%s/bench/tiny-%03d:1", host, i+1)
		if err := client.Write(ctx, ref, img); err != nil {
			return nil, fmt.Errorf("pushing %s: %w", ref, err)
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// scaleResults are the many-images cases: the 20 small images cataloged
// cold in one plan against the sum of their single cold plans, and a plan
// of 100 distinct cached digests.
type scaleResults struct {
	manyCold   stats         // the 20 small images, cold, in one plan
	singlesSum stats         // per repetition: the sum of 20 single cold plans (Wall and CPU summed)
	hundred    stats         // 100 cached digests in one plan
	hundredRun sample        // the first plan of the 100, which catalogs them
	hundredN   int           // images in the 100-digest plan
	singleMax  time.Duration // slowest single cold plan
}

// measureScale runs the many-images cases, interleaved per repetition:
// each small image alone in a cold plan (fresh SBOM cache), then the 20 in
// one cold plan; then the 100-digest configuration, cataloged once and
// re-planned cached.
func measureScale(ctx context.Context, o options, plan func(string, string, string, bool, ...string) (sample, error), dirs map[string]string, common map[string]any, small []imageFacts, res *scaleResults) error {
	var refs []string
	for _, s := range small {
		refs = append(refs, s.Ref)
	}
	single := filepath.Join(o.work, "tf", "single")
	vars := map[string]any{"references": refs[:1]}
	maps.Copy(vars, common)
	if err := writeConfig(single, manyConfig, vars); err != nil {
		return err
	}
	var sums, colds []sample
	for i := 1; i <= o.reps; i++ {
		var sum sample
		for j, ref := range refs {
			s, err := plan(fmt.Sprintf("single-cold-%d-%02d", i, j+1), single, filepath.Join(o.work, fmt.Sprintf("sbom-single-%d-%02d", i, j+1)), true,
				"-var", fmt.Sprintf("references=[%q]", ref))
			if err != nil {
				return err
			}
			sum.Wall += s.Wall
			sum.CPU += s.CPU
			sum.RSSKB = max(sum.RSSKB, s.RSSKB)
			sum.ProviderRSSKB = max(sum.ProviderRSSKB, s.ProviderRSSKB)
			sum.ProviderRuns += s.ProviderRuns
			res.singleMax = max(res.singleMax, s.Wall)
		}
		sums = append(sums, sum)
		log.Printf("repetition %d/%d: %d single cold plans: %s in all (CPU %s)", i, o.reps, len(refs), sum.Wall.Round(time.Millisecond), sum.CPU.Round(time.Millisecond))
		s, err := plan(fmt.Sprintf("many-cold-%d", i), dirs["tf/many"], filepath.Join(o.work, fmt.Sprintf("sbom-many-cold-%d", i)), true)
		if err != nil {
			return err
		}
		colds = append(colds, s)
		log.Printf("repetition %d/%d: %d cold images in one plan: %s (CPU %s), peak RSS provider %s", i, o.reps, len(refs),
			s.Wall.Round(time.Millisecond), s.CPU.Round(time.Millisecond), kb(s.ProviderRSSKB))
	}
	res.singlesSum, res.manyCold = summarize(sums), summarize(colds)

	log.Printf("pushing %d tiny images for the cached-digests plan", tinyImages)
	tiny, err := pushTinyImages(ctx, o.registry)
	if err != nil {
		return err
	}
	dir := filepath.Join(o.work, "tf", "hundred")
	vars = map[string]any{"references": tiny}
	maps.Copy(vars, common)
	if err := writeConfig(dir, manyConfig, vars); err != nil {
		return err
	}
	cache := filepath.Join(o.work, "sbom-hundred")
	if res.hundredRun, err = plan("hundred-first", dir, cache, true); err != nil {
		return err
	}
	log.Printf("%d images: first plan (catalogs them): %s", len(tiny), res.hundredRun.Wall.Round(time.Millisecond))
	var hs []sample
	for i := 1; i <= o.reps; i++ {
		s, err := plan(fmt.Sprintf("hundred-warm-%d", i), dir, cache, true)
		if err != nil {
			return err
		}
		hs = append(hs, s)
		log.Printf("repetition %d/%d: %d cached digests in one plan: %s, peak RSS provider %s", i, o.reps, len(tiny), s.Wall.Round(time.Millisecond), kb(s.ProviderRSSKB))
	}
	res.hundred, res.hundredN = summarize(hs), len(tiny)
	return nil
}
