// Command push builds the demo images and an offline vulnerability database
// in Go (no Docker engine, no download), and pushes the images to the demo
// registry.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
)

func main() {
	host := flag.String("registry", "", "host:port of the demo registry")
	dbDir := flag.String("db", "", "directory for the vulnerability database archive")
	flag.Parse()
	if *host == "" || *dbDir == "" {
		fmt.Fprintln(os.Stderr, "usage: push -registry host:port -db DIR")
		os.Exit(2)
	}
	if err := push(context.Background(), *host); err != nil {
		log.Fatal(err)
	}
	db, err := fixtures.BuildVulnDB(fixtures.StandardVulnData(), *dbDir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("built the vulnerability database %s (the Go vulnerability database %s, plus npm and Debian advisories)\n", db.Archive, fixtures.GoVulnDBModule)
}

// patched is the demo base: Debian 12 with a fixed openssl.
var patched = []fixtures.DebianPackage{
	{Name: "libssl3", Version: "3.0.13-1~deb12u1", Source: "openssl"},
	{Name: "openssl", Version: "3.0.13-1~deb12u1"},
	{Name: "tar", Version: "1.34+dfsg-1.2+deb12u1"},
	{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Source: "zlib"},
}

func push(ctx context.Context, host string) error {
	client, err := registry.New(registry.Options{InsecureRegistries: []string{host}})
	if err != nil {
		return err
	}
	// The trusted base image.
	baseLayer, err := fixtures.Layer(fixtures.DebianFiles(patched))
	if err != nil {
		return err
	}
	base, err := fixtures.Image(fixtures.Spec{Layers: []v1.Layer{baseLayer}})
	if err != nil {
		return err
	}
	baseRef := host + "/demo/base/debian:12"
	if err := client.Write(ctx, baseRef, base); err != nil {
		return err
	}
	baseDigest, err := base.Digest()
	if err != nil {
		return err
	}

	// web: built on the trusted base, runs as "app", current lodash. Two
	// platforms. 1.0 is signed by the demo script with the cosign CLI; 1.1,
	// the same build with another version label, is not.
	for _, version := range []string{"1.0", "1.1"} {
		var platforms []v1.Image
		for _, arch := range []string{"amd64", "arm64"} {
			img, err := fixtures.VulnerableImage(fixtures.Vulnerable{
				User: "app", Base: []v1.Layer{baseLayer}, NPM: map[string]string{"lodash": "4.17.21", "express": "4.21.2"},
				Annotations: map[string]string{registry.AnnotationBaseName: baseRef, registry.AnnotationBaseDigest: baseDigest.String(), "org.opencontainers.image.version": version},
				Platform:    v1.Platform{OS: "linux", Architecture: arch},
			})
			if err != nil {
				return err
			}
			platforms = append(platforms, img)
		}
		idx, err := fixtures.Index(platforms...)
		if err != nil {
			return err
		}
		if err := client.WriteIndex(ctx, host+"/demo/web:"+version, idx); err != nil {
			return err
		}
	}

	// legacy: an old Debian, lodash 4.17.20 and no USER (root).
	legacy, err := fixtures.VulnerableImage(fixtures.Vulnerable{})
	if err != nil {
		return err
	}
	if err := client.Write(ctx, host+"/demo/legacy:latest", legacy); err != nil {
		return err
	}
	fmt.Printf("pushed %s, %s/demo/web:1.0 and :1.1 (linux/amd64, linux/arm64) and %s/demo/legacy:latest\n", baseRef, host, host)
	return nil
}
