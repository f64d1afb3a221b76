# Feed the gate's approved_reference into what deploys the image, so only an
# approved digest can ever be deployed. terraform_data stands in for any
# deployment resource (kubernetes_deployment_v1, aws_ecs_task_definition,
# google_cloud_run_v2_service, ...).
data "imagegate_policy_document" "production" {
  name            = "production"
  vulnerabilities = { fail_on_severity = "high" }
  user            = { require_non_root = true }
}

data "imagegate_gate" "web" {
  reference = "registry.example.com/team/web:3.2.1"
  policy    = data.imagegate_policy_document.production.document
}

resource "terraform_data" "deployment" {
  input = {
    image = data.imagegate_gate.web.approved_reference
  }

  lifecycle {
    precondition {
      condition     = data.imagegate_gate.web.approved_reference != null
      error_message = "The web image did not pass the production gate."
    }
  }
}
