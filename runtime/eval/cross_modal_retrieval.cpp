// Visible→infrared and infrared→visible retrieval (cross_modal_retrieval.h).
#include "runtime/eval/cross_modal_retrieval.h"

#include "runtime/model/zoo_reid.h"

namespace perturb {

CrossModalRetrieval evaluate_cross_modal(const ModelPtr& net, const PairedModalities& data,
                                         const RetrievalOptions& options, const Attack* attack,
                                         at::Generator* gen, AttackStats* stats) {
  const ModelPtr visible = branch_embedding(net, "visible");
  const ModelPtr infrared = branch_embedding(net, "infrared");
  CrossModalRetrieval result;
  result.visible_to_infrared = evaluate_retrieval(*visible, *infrared, data.visible, data.infrared,
                                                  options, attack, gen, stats);
  result.infrared_to_visible = evaluate_retrieval(*infrared, *visible, data.infrared, data.visible,
                                                  options, attack, gen, stats);
  return result;
}

}  // namespace perturb
