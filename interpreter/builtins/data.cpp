// Datasets (LANGUAGE.md §3): Fashion-MNIST from the Debian package, CIFAR-10/100 binary files,
// IDX files, streamed image folders, tensors, and the datasets' methods.

#include "interpreter/builtins/data.h"
#include "interpreter/builtins/table.h"
#include "interpreter/eval.h"
#include "interpreter/kinds.h"
#include "runtime/data/cifar.h"
#include "runtime/data/dataset.h"
#include "runtime/data/from_tensors.h"
#include "runtime/data/image_folder.h"

namespace perturb::lang {

std::optional<Value> DatasetObject::field(const std::string& name) const {
  // A streaming dataset's inputs are decoded for .x: whole folders are for evaluate and train.
  if (name == "x") return Value(data.in_memory().x);
  if (name == "y") return Value(data.y);
  if (name == "classes") {
    std::vector<Value> names(data.classes.begin(), data.classes.end());
    return make_list(std::move(names));
  }
  if (name == "name") return Value(data.name);
  if (name == "size") return Value(data.size());
  return std::nullopt;
}

namespace {

Value dataset_value(Dataset data) {
  return Value(ObjectPtr(std::make_shared<DatasetObject>(std::move(data))));
}

const Dataset& receiver(CallArgs& args) {
  return args.object<DatasetObject>("self", Kind::kDataset)->data;
}

int64_t limit_of(CallArgs& args) {
  return args.has("limit") ? args.integer("limit") : -1;
}

Value image_folder_of(CallArgs& args) {
  ImageFolderOptions options;
  if (args.has("size")) options.size = args.integer("size");
  if (args.has("resize")) options.resize = args.integer("resize");
  options.channels = args.integer("channels");
  options.skip_unreadable = args.string("on_error") == "skip";
  options.workers = static_cast<int>(args.integer("workers"));
  options.prefetch = static_cast<int>(args.integer("prefetch"));
  options.limit = limit_of(args);
  return dataset_value(image_folder(args.string("dir"), options));
}

Value batches_of(CallArgs& args) {
  int64_t size = args.integer("size");
  std::vector<Value> items;
  for (const auto& part : receiver(args).batches(size)) {
    // A streaming dataset's batches are decoded here: a list holds its records in memory.
    const Dataset batch = part.in_memory();
    auto record = std::make_shared<Record>();
    record->set("x", Value(batch.x));
    record->set("y", Value(batch.y));
    items.emplace_back(record);
  }
  return make_list(std::move(items));
}

}  // namespace

void describe_data_kinds(KindRegistry& registry) {
  KindDescriptor dataset(Kind::kDataset, "dataset", "a dataset");
  dataset.fields = {{"x", bits(Kind::kTensor), "The inputs, one per row."},
                    {"y", bits(Kind::kTensor), "The labels, one per input."},
                    {"name", bits(Kind::kString), "Where it came from."},
                    {"size", bits(Kind::kNumber), "How many inputs it holds."},
                    {"classes", bits(Kind::kList),
                     "The class names by label where the data names them (an image folder's "
                     "sub-folders), else empty."}};
  dataset.fields_known = true;
  registry.add(std::move(dataset));
}

void register_data_builtins(BuiltinTable& t) {
  const std::string g = "data";
  const Kinds kData = bits(Kind::kDataset);
  t.add({"fashion_mnist", g,
         Signature{{optional("split", bits(Kind::kString), Value("train")),
                    optional("limit", bits(Kind::kNumber), Value())}}
             .returning(kData),
         "Fashion-MNIST (split \"train\" or \"test\") from /usr/share/datasets, images in [0, 1]; "
         "limit: keeps the first n.",
         "fashion_mnist(split: \"test\", limit: 1000)",
         [](CallArgs& a) { return dataset_value(fashion_mnist(a.string("split"), limit_of(a))); }});
  t.add(
      {"cifar10", g,
       Signature{{required("dir", bits(Kind::kString)),
                  optional("split", bits(Kind::kString), Value("train")).one_of({"train", "test"}),
                  optional("limit", bits(Kind::kNumber), Value())}}
           .returning(kData),
       "CIFAR-10's binary version (split \"train\" or \"test\") from dir, the unpacked "
       "cifar-10-batches-bin/ or its parent; images 3×32×32 in [0, 1]; limit: keeps the first n.",
       "cifar10(dir: \"cifar-10-batches-bin\", split: \"test\", limit: 1000)", [](CallArgs& a) {
         return dataset_value(cifar10(a.string("dir"), a.string("split"), limit_of(a)));
       }});
  t.add(
      {"cifar100", g,
       Signature{{required("dir", bits(Kind::kString)),
                  optional("split", bits(Kind::kString), Value("train")).one_of({"train", "test"}),
                  optional("labels", bits(Kind::kString), Value("fine")).one_of({"fine", "coarse"}),
                  optional("limit", bits(Kind::kNumber), Value())}}
           .returning(kData),
       "CIFAR-100's binary version (split \"train\" or \"test\") from dir, the unpacked "
       "cifar-100-binary/ or its parent; labels: \"fine\" (100 classes) or \"coarse\" (20); "
       "limit: keeps the first n.",
       "cifar100(dir: \"cifar-100-binary\", labels: \"coarse\", limit: 1000)", [](CallArgs& a) {
         return dataset_value(
             cifar100(a.string("dir"), a.string("split"), a.string("labels"), limit_of(a)));
       }});
  t.add(
      {"load_idx", g,
       Signature{{required("images", bits(Kind::kString)), required("labels", bits(Kind::kString)),
                  optional("limit", bits(Kind::kNumber), Value())}}
           .returning(kData),
       "A dataset from IDX image and label files (gzipped or not), like MNIST's.",
       "load_idx(\"imgs.idx3-ubyte.gz\", \"labels.idx1-ubyte.gz\")", [](CallArgs& a) {
         return dataset_value(load_idx_dataset(a.string("images"), a.string("labels"),
                                               a.string("images"), limit_of(a)));
       }});
  t.add({"image_folder", g,
         Signature{
             {required("dir", bits(Kind::kString)),
              optional("size", bits(Kind::kNumber), Value()).whole().at_least(1),
              optional("resize", bits(Kind::kNumber), Value()).whole().at_least(1),
              optional("channels", bits(Kind::kNumber), Value(3)).whole().at_least(1),
              optional("on_error", bits(Kind::kString), Value("error")).one_of({"error", "skip"}),
              optional("workers", bits(Kind::kNumber), Value(2)).whole().at_least(0),
              optional("prefetch", bits(Kind::kNumber), Value(2)).whole().at_least(1),
              optional("limit", bits(Kind::kNumber), Value())}}
             .returning(kData),
         "Images in torchvision's ImageFolder layout (dir/<class>/<image>; classes sorted), "
         "streamed: decoded per batch by `workers` threads, `prefetch` batches each ahead. "
         "size: square side (shorter side resized to resize, default size, then centre-cropped); "
         "channels 3 (RGB) or 1; on_error \"skip\" leaves unreadable images out with a warning.",
         "image_folder(\"imagenet/val\", size: 224, resize: 256)", image_folder_of});
  t.add({"dataset", g,
         Signature{{required("x", bits(Kind::kTensor)), required("y", bits(Kind::kTensor))}}
             .returning(kData),
         "A dataset from tensors, e.g. arrays loaded from .npy: images x [N, ...] (uint8 scaled "
         "to [0, 1]) and N whole-number labels y.",
         "dataset(load(\"images.npy\"), load(\"labels.npy\"))", [](CallArgs& a) {
           return dataset_value(dataset_from_tensors(a.tensor("x"), a.tensor("y"), "from tensors"));
         }});
  t.add({"dataset.take", g,
         Signature{{required("self", kData), required("n", bits(Kind::kNumber))}}.returning(kData),
         "The first n samples.", "test_set.take(100)",
         [](CallArgs& a) { return dataset_value(receiver(a).take(a.integer("n"))); }});
  t.add({"dataset.shuffle", g,
         Signature{{required("self", kData), optional("seed", bits(Kind::kNumber), Value(0))}}
             .returning(kData),
         "The samples in a random order drawn from seed.", "train_set.shuffle(seed: 0)",
         [](CallArgs& a) {
           return dataset_value(receiver(a).shuffle(static_cast<uint64_t>(a.integer("seed"))));
         }});
  t.add({"dataset.batches", g,
         Signature{
             {required("self", kData), required("size", bits(Kind::kNumber)).whole().at_least(1)}}
             .returning(bits(Kind::kList)),
         "Consecutive batches as records with .x and .y; the last may be smaller.",
         "for b in test_set.batches(128) { print(len(b.y)) }", batches_of});
}

}  // namespace perturb::lang
