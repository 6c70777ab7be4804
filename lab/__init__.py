"""The lvs.ha virtual lab: a guest kernel with IPVS and the reference hosts inside it."""
