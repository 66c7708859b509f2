"""Read the synthesized templates back: the network flows and the IAM they allow, the template
scanners (``make scan``), the Control Tower rules, and the security review (``make report``)."""
