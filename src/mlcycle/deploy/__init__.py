"""Deployment manifests: rendered from packaged templates and the project's settings, and
checked offline (kustomize, Kubernetes and CRD schemas, promtool, amtool).

``render`` writes a folder ArgoCD can watch (``kubernetes/`` base, components and one
overlay per environment, ``argocd/``, ``argo/``, ``prometheus/``, ``observability/``);
``check`` validates such a folder and returns what is wrong, one sentence per problem.
"""

from mlcycle.deploy.check import CheckReport, check
from mlcycle.deploy.render import RenderResult, render

__all__ = ["CheckReport", "RenderResult", "check", "render"]
