"""Keys made from Chinese labels (engines/definitions/keys.py): nobody types an English identifier."""
from __future__ import annotations

import re

from mom.engines.definitions.keys import base_key, make_keys

KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def test_pinyin_of_a_chinese_label() -> None:
    assert make_keys(["来料检验记录", "批次号", "判定"]) == ["lai_liao_jian_yan_ji_lu", "pi_ci_hao", "pan_ding"]
    assert base_key("绿色") == "lv_se"            # ü as v: plain ASCII
    assert base_key("重量") == "zhong_liang"       # the word's reading, not the character's first one


def test_mixed_chinese_digits_latin_and_full_width() -> None:
    assert base_key("PH值") == "ph_zhi"
    assert base_key("2号线") == "f_2_hao_xian"                # a key starts with a letter
    assert base_key("2号线", "option") == "o_2_hao_xian"
    assert base_key("Ａ类缺陷①") == "a_lei_que_xian_1"      # full-width letters, circled digits
    assert base_key("温度（℃）") == "wen_du_c"
    assert base_key("") == "f" and base_key("？！", "form") == "form"


def test_unique_within_the_batch_and_what_is_taken() -> None:
    keys = make_keys(["批次号", "批次号", "批次号"], taken=["pi_ci_hao_2"])
    assert keys == ["pi_ci_hao", "pi_ci_hao_3", "pi_ci_hao_4"]
    assert len(set(make_keys(["", "", "!"]))) == 3


def test_reserved_names_are_never_given() -> None:
    reserved = {"id", "user", "created_at"}.__contains__
    assert make_keys(["ID", "user", "created at"], reserved=reserved) == ["id_2", "user_2", "created_at_2"]


def test_bounded_and_valid_whatever_the_label() -> None:
    long = "一二三四五六七八九十" * 5
    keys = make_keys([long, long, "😀", "a" * 80, "___", "Ab-Cd e"], max_length=30)
    assert all(KEY.match(k) and len(k) <= 30 and "__" not in k for k in keys), keys
    assert len(set(keys)) == len(keys)
    assert keys[-1] == "ab_cd_e"


def test_stable_for_the_same_input() -> None:
    labels = ["物料编码", "批次号", "检验数量", "不良数", "判定", "检验员"]
    assert make_keys(labels, taken=["x"]) == make_keys(labels, taken=["x"])
