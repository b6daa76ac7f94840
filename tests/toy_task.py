"""A third task, as small as a task can be, to show that a task plugs in through the registry alone.

The image shows a few digits; p* is the digit string; the answer is their sum.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

import datasets
from PIL import Image, ImageDraw

from vlmdiag.errors import ConfigError
from vlmdiag.tasks.base import Parsed, Sample, Task, TaskConfig, write_response


@dataclass(frozen=True)
class DigitsConfig(TaskConfig):
    length: tuple[int, int] = (3, 5)

    def check(self) -> None:
        if self.length[0] < 1:
            raise ConfigError("length must be at least 1")


class DigitsTask(Task):
    name = "digits"
    config_cls = DigitsConfig
    meta_features = {"length": datasets.Value("int32"), "image_size": datasets.Value("int32")}
    breakdown_columns = ("length",)

    def sample(self, config, rng):
        k = int(rng.integers(config.length[0], config.length[1] + 1))
        digits = [int(d) for d in rng.integers(0, 10, size=k)]
        return Sample(problem={"digits": digits}, meta={"length": k})

    def render(self, sample, config, rng):
        image = Image.new("RGB", (96, 32), "white")
        ImageDraw.Draw(image).text((4, 8), self.perception_text(sample.problem), fill="black")
        return image, {"image_size": 96}

    def trace(self, problem):
        digits = problem["digits"]
        return write_response(self.perception_text(problem), " + ".join(map(str, digits)), str(sum(digits)))

    def perception_text(self, problem):
        return "".join(map(str, problem["digits"]))

    def prompt(self, problem):
        return "Read the digits, then add them up."

    def counterfactual_prompt(self, problem):
        return f"Add up the digits {self.perception_text(problem)}."

    def parse(self, response):
        found = re.findall(r"\d+", response)
        if not found:
            return Parsed(perception_error="no digits", answer_error="no number")
        return Parsed(perception=found[0], answer=int(found[-1]))

    def verify(self, problem, answer):
        return answer == sum(problem["digits"])

    def score_perception(self, problem, perception):
        return {"exact": float(perception == self.perception_text(problem))}

    def ground_truth(self, problem):
        return json.dumps(problem)
