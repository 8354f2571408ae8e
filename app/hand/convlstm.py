"""ConvLSTM1D/2D/3D by hand: an LSTM whose products are convolutions."""

from __future__ import annotations

from app.hand.convolution import CROSS_CORRELATION, padding_convention, window_settings
from app.hand.recurrent import LOOP, sequence_settings
from app.hand.rules import Facts, Hand, activation_name, hand
from app.hand.rules import settings as line


@hand("ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
def conv_lstm(facts: Facts) -> Hand:
    rank = int(facts.class_name[-2])
    act = activation_name(facts.get("activation", "tanh"))
    rec = activation_name(facts.get("recurrent_activation", "sigmoid"))
    bias = " + bias" if facts.has("bias") else ""
    return Hand(
        settings=line(
            f"filters {facts.get('filters', '?')}",
            f"activation {act}",
            f"recurrent_activation {rec}",
            *window_settings(facts, rank),
            *sequence_settings(facts.config),
        ),
        formula=(
            f"z = conv(x_t, kernel) + conv(h_{{t−1}}, recurrent_kernel, padding same){bias}; "
            f"i = {rec}(z_i), f = {rec}(z_f), o = {rec}(z_o); "
            f"c_t = f · c_{{t−1}} + i · {act}(z_c); h_t = o · {act}(c_t)"
        ),
        conventions=(
            "kernel is (*kernel_size, in, 4·filters) and recurrent_kernel (*kernel_size, filters, "
            "4·filters), the gates side by side in the order i, f, c, o.",
            CROSS_CORRELATION,
            *padding_convention(facts, rank),
            LOOP,
        ),
    )
