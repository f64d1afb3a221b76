// Command terraform-provider-imagegate serves the imagegate provider over the
// Terraform plugin protocol, version 6.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/imagegate/terraform-provider-imagegate/internal/provider"
)

// version is set by the build (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers such as delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/imagegate/imagegate",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}
