#pragma once
// Whole numbers in scripts are doubles. Before one becomes an integer it must be whole and small
// enough to be exact both ways (|x| <= 9e15): casting 1e308, infinity or NaN to int64 is
// undefined behaviour (UBSan), not merely a large number.

namespace perturb::lang {

bool is_whole(double x);  // defined in table.cpp

}  // namespace perturb::lang
