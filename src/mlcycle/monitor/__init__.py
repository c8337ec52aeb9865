"""Production monitoring: drift statistics, live quality and service figures."""
