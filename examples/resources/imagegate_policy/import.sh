# A policy document written by hand (the same JSON a gate accepts) can be
# adopted: the import id is the document itself.
terraform import imagegate_policy.production "$(cat policy.json)"
