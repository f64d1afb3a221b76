// Command push builds the demo images in Go and pushes them to the demo
// registry: no Docker engine is needed.
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
	flag.Parse()
	if *host == "" {
		fmt.Fprintln(os.Stderr, "usage: push -registry host:port")
		os.Exit(2)
	}
	if err := push(context.Background(), *host); err != nil {
		log.Fatal(err)
	}
}

func push(ctx context.Context, host string) error {
	client, err := registry.New(registry.Options{InsecureRegistries: []string{host}})
	if err != nil {
		return err
	}
	web := v1.Config{User: "10001:10001", Entrypoint: []string{"/app"}, ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Env: []string{"PORT=8080"}, Labels: map[string]string{"org.opencontainers.image.title": "demo web"}}
	var platforms []v1.Image
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := appImage(arch, web)
		if err != nil {
			return err
		}
		platforms = append(platforms, img)
	}
	idx, err := fixtures.Index(platforms...)
	if err != nil {
		return err
	}
	if err := client.WriteIndex(ctx, host+"/demo/web:1.0", idx); err != nil {
		return err
	}
	legacy, err := appImage("amd64", v1.Config{Cmd: []string{"/bin/sh"}})
	if err != nil {
		return err
	}
	if err := client.Write(ctx, host+"/demo/legacy:latest", legacy); err != nil {
		return err
	}
	fmt.Printf("pushed %s/demo/web:1.0 (linux/amd64, linux/arm64) and %s/demo/legacy:latest\n", host, host)
	return nil
}

func appImage(arch string, cfg v1.Config) (v1.Image, error) {
	l, err := fixtures.Layer(fixtures.Files{"app": []byte("#!/bin/sh\necho " + arch + "\n")})
	if err != nil {
		return nil, err
	}
	return fixtures.Image(fixtures.Spec{Layers: []v1.Layer{l}, Config: cfg, Platform: v1.Platform{OS: "linux", Architecture: arch}})
}
