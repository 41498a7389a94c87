"""Face verification (人证核验): is the person at the screen the holder of the card?

``photo`` turns the card's 1,024-byte photo into an image (a vendor library, a reader's
BMP, or the simulator's encoding); ``model`` is dlib's detector, landmarks and ResNet
embedding; ``liveness`` the presentation-attack checks (binocular IR, micro-motion, or an
active challenge); ``analysis`` what one camera frame says; ``worker`` runs all of that in
one child process; ``verifier`` is the engine the citizen session drives; ``checks`` what
the machine lacks; ``service`` starts the worker with the daemon. docs/face.md.
"""
