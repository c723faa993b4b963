// Cross-modality re-identification in the two directions of the visible–infrared benchmarks
// (Gong et al. 2024, Table 1; RegDB's visible-to-thermal and thermal-to-visible protocols):
// the queries of one modality are embedded through their branch and ranked against a gallery
// of the other modality embedded through its branch. With an attack the queries are perturbed
// (against the query branch's embedding model) and the gallery stays clean.
#pragma once

#include "runtime/data/paired_modalities.h"
#include "runtime/eval/retrieval.h"

namespace perturb {

struct CrossModalRetrieval {
  RetrievalResult visible_to_infrared;  // visible queries, infrared gallery
  RetrievalResult infrared_to_visible;  // infrared queries, visible gallery
};

// `net`: a two-branch network (each modality through its branch's embedding) or any other model
// whose output is the embedding (runtime/model/zoo_reid.h, branch_embedding).
CrossModalRetrieval evaluate_cross_modal(const ModelPtr& net, const PairedModalities& data,
                                         const RetrievalOptions& options,
                                         const Attack* attack = nullptr,
                                         at::Generator* gen = nullptr,
                                         AttackStats* stats = nullptr);

}  // namespace perturb
