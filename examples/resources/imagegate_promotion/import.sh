# A tag promoted before Terraform managed it is adopted by its destination
# tag and the digest it holds; source and policy come from the configuration.
terraform import imagegate_promotion.app "registry.example.com/team/app:1.4.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
