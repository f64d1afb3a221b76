terraform {
  required_providers {
    imagegate = { source = "imagegate/imagegate" }
  }
}
