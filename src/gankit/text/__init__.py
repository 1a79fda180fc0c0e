"""Text for the text-to-image GANs (GAN-INT-CLS, Reed et al. 2016; StackGAN, Zhang et al. 2017).

`encode`/`decode` turn captions into character ids; `TextEncoder` is a small char-CNN-RNN that
embeds them, pretrained with the joint image-text objective of `joint` (`train_joint`) and frozen
inside the GANs. `text_encoder("shapes")` loads shipped weights, `text_encoder(path)` a user's
file written by `save_encoder`; `embed(encoder, texts)` embeds captions without gradients.
"""

from gankit.text.encoder import (
    SHIPPED,
    TextEncoder,
    embed,
    encoder_card,
    load_encoder,
    save_encoder,
    text_encoder,
)
from gankit.text.joint import (
    ImageEncoder,
    joint_embedding_loss,
    retrieval_accuracy,
    train_joint,
)
from gankit.text.tokens import (
    CHARS,
    LONGEST,
    MAX_LEN,
    PAD,
    UNK,
    VOCAB_SIZE,
    decode,
    encode,
    encode_to_longest,
    normalize,
)

__all__ = [
    "CHARS",
    "LONGEST",
    "MAX_LEN",
    "PAD",
    "SHIPPED",
    "UNK",
    "VOCAB_SIZE",
    "ImageEncoder",
    "TextEncoder",
    "decode",
    "embed",
    "encode",
    "encode_to_longest",
    "encoder_card",
    "joint_embedding_loss",
    "load_encoder",
    "normalize",
    "retrieval_accuracy",
    "save_encoder",
    "text_encoder",
    "train_joint",
]
