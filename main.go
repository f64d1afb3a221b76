// Command terraform-provider-imagegate serves the imagegate provider over the
// Terraform plugin protocol, version 6.
package main

import (
	"context"
	"flag"
	"log"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/imagegate/terraform-provider-imagegate/internal/provider"
)

// version is set by the build (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers such as delve")
	flag.Parse()
	quietUnlessAsked(os.Getenv, os.Setenv)

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/imagegate/imagegate",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}

// sdkLogLevels are the variables that set the levels of the plugin SDK's
// loggers (terraform-plugin-go, the framework) and of this provider's.
var sdkLogLevels = []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_IMAGEGATE"}

// quietUnlessAsked turns those loggers off when the CLI collects no
// provider logs (neither TF_LOG nor TF_LOG_PROVIDER is set; the provider
// inherits the CLI's environment). Unset, they default to TRACE and write
// every request to stderr as JSON, which the CLI parses only to drop: a
// quarter of the provider's CPU in a plan of many data sources, and more in
// the CLI. A level the user set is kept.
func quietUnlessAsked(getenv func(string) string, setenv func(string, string) error) {
	if getenv("TF_LOG") != "" || getenv("TF_LOG_PROVIDER") != "" {
		return
	}
	for _, v := range sdkLogLevels {
		if getenv(v) == "" {
			_ = setenv(v, "off")
		}
	}
}
