// Command push builds the demo images in Go and pushes them to the demo
// registry: no Docker engine is needed.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
)

func main() {
	host := flag.String("registry", "", "host:port of the demo registry")
	flag.Parse()
	if *host == "" {
		fmt.Fprintln(os.Stderr, "usage: push -registry host:port")
		os.Exit(2)
	}
	client, err := registry.New(registry.Options{InsecureRegistries: []string{*host}})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	amd, err := image("amd64", v1.Config{User: "10001:10001", Entrypoint: []string{"/app"}, ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Env: []string{"PORT=8080"}, Labels: map[string]string{"org.opencontainers.image.title": "demo web"}})
	if err != nil {
		log.Fatal(err)
	}
	arm, err := image("arm64", v1.Config{User: "10001:10001", Entrypoint: []string{"/app"}})
	if err != nil {
		log.Fatal(err)
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	if err := client.WriteIndex(ctx, *host+"/demo/web:1.0", idx); err != nil {
		log.Fatal(err)
	}
	root, err := image("amd64", v1.Config{Cmd: []string{"/bin/sh"}})
	if err != nil {
		log.Fatal(err)
	}
	if err := client.Write(ctx, *host+"/demo/legacy:latest", root); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("pushed %s/demo/web:1.0 (linux/amd64, linux/arm64) and %s/demo/legacy:latest\n", *host, *host)
}

func image(arch string, cfg v1.Config) (v1.Image, error) {
	r, err := random.Image(4096, 2)
	if err != nil {
		return nil, err
	}
	cf, err := r.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Config = "linux", arch, cfg
	cf.Created = v1.Time{Time: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	return mutate.ConfigFile(r, cf)
}
