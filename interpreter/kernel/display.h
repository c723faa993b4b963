#pragma once
// What a notebook shows for a cell: PNG files a builtin wrote, and values — an image tensor as a
// picture, anything else as the REPL prints it — as Jupyter mime bundles.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "interpreter/value.h"

namespace perturb::lang {

// RFC 4648 base64, as Jupyter carries image/png.
std::string base64(const std::string& bytes);

// The bytes of the PNG file at `path`; nullopt when it cannot be read or is not a PNG.
std::optional<std::string> read_png(const std::string& path);

// A display_data bundle for the PNG file at `path` ({"image/png", "text/plain"}); nullopt when
// it is not a readable PNG.
std::optional<nlohmann::json> png_file_bundle(const std::string& path);

// The execute_result bundle of a cell's value: text/plain as the REPL prints it, plus
// image/png when the value is a batch of images ([C, H, W] or [N, C, H, W], C 1 or 3, at least
// 8×8, values in [0, 1]) drawn as images() draws it.
nlohmann::json value_bundle(const Value& value);

}  // namespace perturb::lang
