// RNN, LSTM, GRU and their cells against PyTorch 1.13: outputs, final states and gradients for the
// same weights and inputs (bidirectional, stacked, batch_first, given initial states, unbatched
// inputs, dropout in eval mode), parameter names and shapes, a safetensors file PyTorch wrote,
// AnyModule and Sequential holding them, and error messages.
//
// The reference values were printed by this Python (float64; `report(name, module, x, hx)`):
//
//   import torch
//   torch.set_default_dtype(torch.float64)
//   def fill(m):  # parameter i (named_parameters order) = 0.4 sin(0.7 k + i)
//       with torch.no_grad():
//           for i, (_, p) in enumerate(m.named_parameters()):
//               p.copy_((0.4 * torch.sin(0.7 * torch.arange(p.numel()) + i)).reshape(p.shape))
//   def ramp(shape, a, b, f=torch.cos):
//       n = 1
//       for s in shape: n *= s
//       return (0.5 * f(a * torch.arange(n) + b)).reshape(shape).requires_grad_()
//   def weights(t, a): return torch.cos(a * torch.arange(t.numel())).reshape(t.shape)
//   def report(name, m, x, hx):
//       fill(m); m.eval()
//       out = m(x, hx) if hx is not None else m(x)
//       if not isinstance(out, tuple): outs = [out]                    # a cell's h
//       elif isinstance(out[1], tuple): outs = [out[0], *out[1]]        # output, h_n, c_n
//       else: outs = [out[0], out[1]]                                   # output, h_n
//       loss = sum((o * weights(o, 0.11 + 0.02 * k)).sum() for k, o in enumerate(outs))
//       loss.backward()
//       print(name, [o.flatten().tolist() for o in outs])       # results
//       print([(p.grad.sum().item(), (p.grad * weights(p.grad, 0.19)).sum().item())
//              for _, p in m.named_parameters()])               # parameter grads
//       ins = [x] + ([hx] if torch.is_tensor(hx) else list(hx) if hx is not None else [])
//       print([t.grad.flatten().tolist() for t in ins])         # input grads
//
//   report("lstm", torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True),
//          ramp([2, 3, 3], 0.3, 0.1),
//          (ramp([4, 2, 4], 0.5, 2.0, torch.sin), ramp([4, 2, 4], 0.4, 3.0)))
//   report("gru", torch.nn.GRU(3, 4, num_layers=2, bidirectional=True), ramp([3, 2, 3], 0.3, 0.1),
//          None)
//   report("rnn relu", torch.nn.RNN(3, 4, nonlinearity='relu', bias=False, batch_first=True),
//          ramp([2, 3, 3], 0.3, 0.1), ramp([1, 2, 4], 0.5, 2.0, torch.sin))
//   report("rnn tanh", torch.nn.RNN(3, 4, num_layers=2), ramp([3, 2, 3], 0.3, 0.1), None)
//   report("lstm dropout eval", torch.nn.LSTM(3, 4, num_layers=2, dropout=0.5),
//          ramp([3, 2, 3], 0.3, 0.1), None)
//   report("lstm unbatched", torch.nn.LSTM(3, 4), ramp([3, 3], 0.3, 0.1),
//          (ramp([1, 4], 0.5, 2.0, torch.sin), ramp([1, 4], 0.4, 3.0)))
//   report("lstm cell", torch.nn.LSTMCell(3, 4), ramp([2, 3], 0.3, 0.1),
//          (ramp([2, 4], 0.5, 2.0, torch.sin), ramp([2, 4], 0.4, 3.0)))
//   report("gru cell unbatched", torch.nn.GRUCell(3, 4), ramp([3], 0.3, 0.1), None)
//   report("rnn cell relu", torch.nn.RNNCell(3, 4, nonlinearity='relu'), ramp([2, 3], 0.3, 0.1),
//          ramp([2, 4], 0.5, 2.0, torch.sin))

#include <bg/nn.h>

#include <cmath>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "pytorch_reference.h"
#include "test_util.h"

using namespace bg;
using test::check_against;
using test::check_error;
using test::Expected;
using test::fill;
using test::ramp;

namespace {

// lstm
const Expected kLstm{
    {{-0.202300988739,   -0.190910105925,   -0.323870546812,   -0.207320763647, 0.118103854302,
      0.164919913532,    0.037561751066,    -0.00395223323005, -0.154830800287, -0.181839821053,
      -0.332881683153,   -0.279919641593,   0.107638415169,    0.172196578238,  0.0245121324445,
      0.0170048404667,   -0.144220112445,   -0.173662693531,   -0.357946896752, -0.302774823929,
      0.075161402779,    0.17939357171,     0.0262362000976,   0.0550302876,    0.0179016469375,
      -0.0705897900106,  0.0853445008182,   -0.0486596471283,  0.161158491155,  0.119022861393,
      0.0581791090105,   -0.175281923763,   -0.00969588343233, -0.135999979629, -0.082036859446,
      -0.162541958404,   0.165637234076,    0.075761152177,    0.0459902768712, -0.199880515212,
      -0.0559395587955,  -0.153320180484,   -0.196340397189,   -0.188491176731, 0.162219872548,
      -0.00936768450504, -0.00484651620484, -0.256986821875},
     {0.125790641537,   0.0853519233626,  -0.0503020988084,  -0.193755437561, 0.1673032674,
      0.0935393078208,  -0.0214252353059, -0.0896511642405,  -0.112734665714, 0.0104111895653,
      0.247989281482,   0.12124316013,    -0.37494610103,    0.181736585349,  0.105615006148,
      0.181594662598,   -0.144220112445,  -0.173662693531,   -0.357946896752, -0.302774823929,
      -0.0559395587955, -0.153320180484,  -0.196340397189,   -0.188491176731, 0.118103854302,
      0.164919913532,   0.037561751066,   -0.00395223323005, 0.161158491155,  0.119022861393,
      0.0581791090105,  -0.175281923763},
     {0.452011616701,  0.265599008832,   -0.09105480474,    -0.431638659798, 0.51170466063,
      0.275916272881,  -0.0484211728339, -0.152725675043,   -0.214636841709, 0.0191370249662,
      0.547681263229,  0.638430558114,   -0.564526546208,   0.444650542438,  0.287821373083,
      0.46151540369,   -0.323351882884,  -0.332369264984,   -0.567990350925, -0.555321571876,
      -0.115836300177, -0.274175737694,  -0.310152530112,   -0.323695081131, 0.297655765355,
      0.460736600515,  0.0856271838388,  -0.00839048093586, 0.436415839831,  0.377407833453,
      0.131969871642,  -0.387119047716}},
    {-1.69104857444,  -1.32246091786, -0.496732829816, 0.344042580269,  5.54431410555,
     -0.8846970219,   5.54431410555,  -0.8846970219,   2.79477161679,   1.37750805724,
     0.784907715899,  0.655177664318, 0.0910231938053, 0.0235493247072, 0.0910231938053,
     0.0235493247072, -1.18991160948, -0.142447397427, 0.984455622109,  0.0942060741568,
     -4.56984353984,  4.25485961751,  -4.56984353984,  4.25485961751,   -1.49458184243,
     0.126144620382,  -2.14967118965, -0.350148361758, -7.19838192441,  0.571829513792,
     -7.19838192441,  0.571829513792},
    {{-0.0440817708552, -0.123905949692, -0.145455224305, -0.0731780974378, -0.106637212553,
      -0.0899431803514, 0.00251035324347, 0.00557434928435, 0.00601664175518, -0.125340039445,
      -0.136374597662, -0.0832700516872, -0.00271588317028, -0.0320998375441, -0.0463867367471,
      -0.042020587926, -0.155866006908, -0.196405207367},
     {-0.0932419474478,  -0.0597291571528, 0.00187518904502, 0.0625976045343, 0.0471480516915,
      0.0827050091347,   0.0793645084805,  0.0386976393833,  0.0603062528132, 0.00727199320665,
      -0.0491823984331,  -0.0825055395935, 0.0202919561371,  0.0161592621992, 0.0044266147536,
      -0.00938793877841, -0.0441927539574, -0.0176129324552, 0.0172505263903, 0.0440007931276,
      -0.157000858716,   -0.0948568064672, 0.0118998840411,  0.113059873144,  0.10863933817,
      0.115014227132,    0.0672961279275,  -0.0120723917725, 0.0287952935689, -0.0207056361691,
      -0.0604683816824,  -0.0717919024459},
     {0.100064891021,   0.112785634669,   0.143707316147,   0.270083511859,   0.021868604164,
      0.101291010986,   0.147618900756,   0.289959958628,   0.158448667186,   0.111916561421,
      0.0519935929826,  0.00413136705317, 0.178906635549,   0.101681195658,   0.0109057278891,
      -0.0389132407251, 0.0851204246886,  -0.0619216327548, 0.0969513467597,  -0.0570095081665,
      -0.743895481113,  -1.08772466942,   -1.1399244859,    -0.769784314992,  -0.104149216157,
      -0.149224684658,  -0.211299750627,  -0.421926271449,  -0.0322581174953, -0.0619966698528,
      -0.0867911965577, -0.116525757694}}};

// gru
const Expected kGru{
    {{0.153857484734,   -0.0138216476589, -0.129022413898, -0.19424410921,   0.189254462783,
      0.147449408945,   -0.0346471306099, -0.152248547105, 0.150419346562,   -0.0124855828506,
      -0.126427759623,  -0.191214661649,  0.198572406942,  0.145559213495,   -0.0359755425281,
      -0.155599621814,  0.18666549636,    0.0145987800704, -0.216125188345,  -0.269748158892,
      0.247431768201,   0.153449362499,   -0.036200356857, -0.140430666927,  0.190504935263,
      0.0159137829407,  -0.215357736124,  -0.271947592497, 0.23626987145,    0.143180868679,
      -0.0385815451276, -0.13858424566,   0.165029257204,  0.0323410228911,  -0.277374699856,
      -0.291235430972,  0.229406362688,   0.119108342547,  -0.0109596084515, -0.0872215209719,
      0.171255881828,   0.0336804725024,  -0.278898678632, -0.29683184203,   0.220289082161,
      0.112968059405,   -0.0123706323137, -0.0858382811334},
     {0.555201235985,   0.307987710422,   -0.0980961222583, -0.0199798247133, 0.399025412569,
      0.377273384058,   -0.0540726114848, -0.0633505740091, -0.298726615552,  0.0614754717832,
      0.455413669911,   0.538589989508,   -0.374310728624,  0.193929231561,   0.306207911234,
      0.508323702468,   0.165029257204,   0.0323410228911,  -0.277374699856,  -0.291235430972,
      0.171255881828,   0.0336804725024,  -0.278898678632,  -0.29683184203,   0.189254462783,
      0.147449408945,   -0.0346471306099, -0.152248547105,  0.198572406942,   0.145559213495,
      -0.0359755425281, -0.155599621814}},
    {-0.279309848279, -0.40024381217,  0.544168123183,  0.368030137579,  1.39474406417,
     -0.30907551375,  0.660887495071,  -0.104490129129, -1.83548703054,  -1.71920836637,
     0.622769442548,  -0.192815954368, 3.59145198259,   -0.816883168462, 2.30465830289,
     -0.488754201438, -9.99907798151,  0.217626865797,  0.708997035486,  0.0565467408928,
     -8.6325349422,   2.29158824784,   -3.43262023536,  1.11186125078,   -9.27174335257,
     0.267288444825,  -0.652697637183, -0.449811629223, -8.04903606456,  1.55133345956,
     -3.93065706432,  0.558558716132},
    {{0.0157483756183, 0.00328190104605, -0.0107281028693, -0.0878674295465, -0.0653737192821,
      -0.0121337273468, -0.0300204966411, -0.0328188029661, -0.0201819134482, -0.059686856329,
      -0.0326828073035, 0.00969247667969, -0.0937239992628, -0.0971339707531, -0.054860318038,
      -0.0538468328831, -0.092802392437, -0.0881115367504}}};

// rnn relu
const Expected kRnnRelu{
    {{0.557288809478,
      0,
      0,
      0.238950490814,
      0.220261796282,
      0,
      0,
      0,
      0,
      0,
      0.300584474292,
      0,
      0,
      0.344134978637,
      0,
      0.104593111446,
      0,
      0,
      0.471676494953,
      0,
      0.243810881089,
      0,
      0.110412995365,
      0},
     {0, 0, 0.300584474292, 0, 0.243810881089, 0, 0.110412995365, 0}},
    {2.92105486523, 1.63708223252, 2.89022632514, 1.24155255265},
    {{0.00648366570151, 0.604851081536, 0.918747582665, 0, 0.278741506988, 0.426386527783,
      -0.495050192616, -0.558027621361, -0.358555940358, 0.00759763001745, -0.0409711359704,
      -0.0702705365198, 0.11789912929, 0.132897576164, 0.0853922163863, 0.0138898033977,
      0.0876334385038, 0.120161698171},
     {0.46869042782, 0.300052187095, -0.00970528566599, -0.314898210929, -0.0078628949803,
      0.0323156837334, 0.0572956914407, 0.0553286401937}}};

// rnn tanh
const Expected kRnnTanh{
    {{0.168713854881, 0.355401450139, 0.774609869001,  0.0783542982943, 0.205832253341,
      0.329069104941, 0.78160771399,  0.0747782906851, 0.154396807091,  0.527029219959,
      0.566537052656, 0.535482875976, 0.171980691263,  0.526261647404,  0.555529868788,
      0.55745601066,  0.261601926861, 0.477842233337,  0.574552051176,  0.565747118328,
      0.211925514994, 0.506241567358, 0.562378759624,  0.563304741611},
     {0.217586916853, -0.0430512967881, -0.398322225197, -0.481506372528, 0.435481763242,
      0.0956437016431, -0.676215621416, -0.256124634366, 0.261601926861, 0.477842233337,
      0.574552051176, 0.565747118328, 0.211925514994, 0.506241567358, 0.562378759624,
      0.563304741611}},
    {-1.09342025168, -1.46430380811, -3.72423254441, -0.464796923139, 5.84117930527, 5.51427422139,
     5.84117930527, 5.51427422139, -2.78997140395, -0.319401003796, -2.83403579856, 2.15613177841,
     4.54117680455, 4.36561220823, 4.54117680455, 4.36561220823},
    {{-0.0201344597281, 0.0104770638618, 0.0361610606089, -0.0360434918917, -0.0351096367028,
      -0.0176631707693, 0.0166336751012, 0.0156355382208, 0.00728376340322, 0.0324109165611,
      0.0363127151005, 0.0231360763263, 0.0589205965125, 0.242619429592, 0.312210553901,
      0.171648288953, 0.298985027253, 0.285704435466}}};

// lstm dropout eval
const Expected kLstmDropoutEval{
    {{-0.0721889375213, 0.03404315097,   0.131338286498,  0.12867889954,   -0.0747840592359,
      0.0342786007217,  0.133116347142,  0.126742368444,  -0.1409789242,   0.0678972133534,
      0.174257749821,   0.15739247801,   -0.149700235333, 0.0742516671733, 0.172930388298,
      0.156565330065,   -0.18672622605,  0.092990061367,  0.181793716496,  0.169132140949,
      -0.18498123094,   0.0912671172884, 0.181283310186,  0.170854892788},
     {0.150463643571, 0.0888414117959, -0.0729914247071, -0.103613796766, 0.165933190154,
      0.108494049809, -0.0492093956048, -0.151331150075, -0.18672622605, 0.092990061367,
      0.181793716496, 0.169132140949, -0.18498123094, 0.0912671172884, 0.181283310186,
      0.170854892788},
     {0.556896110452, 0.289405208424, -0.13224830453, -0.209054794461, 0.491186702884,
      0.333355812921, -0.10892551799, -0.265813345526, -0.309555888388, 0.181866682756,
      0.478084749428, 0.567037835964, -0.307092787783, 0.177381100294, 0.482300915317,
      0.564320650741}},
    {-2.96460361572, -2.05987102767, 0.350137449269, 0.319157189112, 6.72143342612, -0.759080908079,
     6.72143342612, -0.759080908079, -0.0606894439636, 0.0522275687794, -0.463552779612,
     0.191299200338, 0.312210038341, -0.125067079138, 0.312210038341, -0.125067079138},
    {{-0.0146871030267, -0.0455647469385, -0.0550125783963, -0.00902024099062, -0.0208545342955,
      -0.0228806142601, -0.0148173403934, -0.0119191815574, -0.00341524539263, 0.0180866277663,
      0.00901394941852, -0.00429813018764, 0.0461121577969, 0.0253173753153, -0.00738456437193,
      -0.0478024948894, -0.114719765164, -0.127682537336}}};

// lstm unbatched
const Expected kLstmUnbatched{
    {{-0.0946946680285, 0.0673454753493, -0.101056314674, -0.24181169448, 0.0725988318468,
      0.101027372689, -0.049870628503, -0.271651413122, 0.125790641537, 0.0853519233626,
      -0.0503020988084, -0.193755437561},
     {0.125790641537, 0.0853519233626, -0.0503020988084, -0.193755437561},
     {0.452011616701, 0.265599008832, -0.09105480474, -0.431638659798}},
    {-0.707761969331, 0.36708663796, -0.439209227462, 0.642070236566, 4.44479103266,
     -0.852786735316, 4.44479103266, -0.852786735316},
    {{-0.0763220043313, -0.25758984776, -0.317709160835, -0.112839753073, -0.150870827012,
      -0.117944993585, -0.0119628825453, -0.0172830966479, -0.014474800341},
     {-0.199007939083, -0.108837303545, 0.0325212164804, 0.158584500237},
     {0.242588593406, 0.332684311908, 0.600481534956, 1.02962722409}}};

// lstm cell
const Expected kLstmCell{{{-0.0946946680285, 0.0673454753493, -0.101056314674, -0.24181169448,
                           0.142644751943, 0.0210846902655, 0.139263447779, -0.0445997004385},
                          {-0.250261764581, 0.177626299973, -0.27065136496, -0.436652957428,
                           0.33065823451, 0.0686576876866, 0.308457687403, -0.07740957192}},
                         {2.40024768541, 2.35943662242, -2.19868845353, -0.512380684451,
                          3.05383167295, -0.488451063273, 3.05383167295, -0.488451063273},
                         {{-0.210917046475, -0.411075895847, -0.417899328164, -0.120322268545,
                           0.000700060065756, 0.121393139489},
                          {-0.415573460449, -0.33473645238, -0.0964676603561, 0.187171379682,
                           0.208777960815, 0.30234882942, 0.253720319218, 0.0857631783984},
                          {0.520234432531, 0.52140466564, 0.759673205178, 1.04043481719,
                           0.385208487479, 0.481423391309, 0.607927272464, 0.653014699868}}};

// gru cell unbatched
const Expected kGruCellUnbatched{
    {{0.0800595722645, 0.38598616149, 0.0927884545673, -0.189345603638}},
    {1.93923011817, 1.22182340127, 0, 0, 1.44669685855, -0.306163262876, 0.702106587369,
     -0.156607624937},
    {{-0.0735060755922, -0.0891086082558, -0.0628019700962}}};

// rnn cell relu
const Expected kRnnCellRelu{
    {{0.977455783432, 0, 0, 0, 0, 0.578181003738, 0, 0}},
    {1.67234215694, 1.57419371454, -0.799725809233, -0.052257218689, 1.85252452206, 1.8371826912,
     1.85252452206, 1.8371826912},
    {{0, 0.257687074895, 0.394179891995, 0.294362861096, 0.114234245043, -0.119620521413},
     {0.336588393923, 0.396665924181, 0.27018527222, 0.0166322649733, -0.208649542418,
      -0.333347358544, -0.301266703252, -0.127495609997}}};

}  // namespace

TEST_CASE("LSTM matches PyTorch: 2 layers, bidirectional, batch_first, given initial state") {
  nn::LSTM lstm(nn::LSTMOptions(3, 4).num_layers(2).bidirectional(true).batch_first(true));
  fill(lstm);
  const Tensor x = ramp({2, 3, 3}, 0.3, 0.1);
  const Tensor h0 = ramp({4, 2, 4}, 0.5, 2.0, true), c0 = ramp({4, 2, 4}, 0.4, 3.0);
  auto [output, state] = lstm(x, std::make_tuple(h0, c0));
  auto [h_n, c_n] = state;
  CHECK(output.sizes() == Shape{2, 3, 8});
  CHECK(h_n.sizes() == Shape{4, 2, 4});
  check_against(*lstm, {output, h_n, c_n}, {x, h0, c0}, kLstm);
}

TEST_CASE("GRU matches PyTorch: 2 layers, bidirectional, zero initial state") {
  nn::GRU gru(nn::GRUOptions(3, 4).num_layers(2).bidirectional(true));
  fill(gru);
  const Tensor x = ramp({3, 2, 3}, 0.3, 0.1);
  auto [output, h_n] = gru(x);
  CHECK(output.sizes() == Shape{3, 2, 8});
  check_against(*gru, {output, h_n}, {x}, kGru);
}

TEST_CASE("RNN matches PyTorch: ReLU without bias, batch_first; tanh, 2 layers") {
  nn::RNN relu(nn::RNNOptions(3, 4).nonlinearity(nn::kReLU).bias(false).batch_first(true));
  fill(relu);
  const Tensor x = ramp({2, 3, 3}, 0.3, 0.1), h0 = ramp({1, 2, 4}, 0.5, 2.0, true);
  auto [output, h_n] = relu(x, h0);
  check_against(*relu, {output, h_n}, {x, h0}, kRnnRelu);

  nn::RNN tanh(nn::RNNOptions(3, 4).num_layers(2));
  fill(tanh);
  const Tensor x2 = ramp({3, 2, 3}, 0.3, 0.1);
  auto [output2, h_n2] = tanh(x2);
  check_against(*tanh, {output2, h_n2}, {x2}, kRnnTanh);
}

TEST_CASE("LSTM dropout: off in eval mode (PyTorch's values), drawn anew in training") {
  nn::LSTM lstm(nn::LSTMOptions(3, 4).num_layers(2).dropout(0.5));
  fill(lstm);  // eval mode
  const Tensor x = ramp({3, 2, 3}, 0.3, 0.1);
  auto [output, state] = lstm(x);
  check_against(*lstm, {output, std::get<0>(state), std::get<1>(state)}, {x}, kLstmDropoutEval);
  lstm->train();
  manual_seed(1);
  const Tensor first = std::get<0>(lstm(x.detach()));
  const Tensor second = std::get<0>(lstm(x.detach()));
  CHECK_FALSE(allclose(first, output.detach()));
  CHECK_FALSE(allclose(first, second));
}

TEST_CASE("LSTM takes an unbatched sequence [seq_len, features] and 2-d states") {
  nn::LSTM lstm(3, 4);
  fill(lstm);
  const Tensor x = ramp({3, 3}, 0.3, 0.1);
  const Tensor h0 = ramp({1, 4}, 0.5, 2.0, true), c0 = ramp({1, 4}, 0.4, 3.0);
  auto [output, state] = lstm(x, std::make_tuple(h0, c0));
  CHECK(output.sizes() == Shape{3, 4});
  CHECK(std::get<0>(state).sizes() == Shape{1, 4});
  check_against(*lstm, {output, std::get<0>(state), std::get<1>(state)}, {x, h0, c0},
                kLstmUnbatched);
}

TEST_CASE("the cells match PyTorch") {
  nn::LSTMCell lstm(3, 4);
  fill(lstm);
  const Tensor x = ramp({2, 3}, 0.3, 0.1);
  const Tensor h = ramp({2, 4}, 0.5, 2.0, true), c = ramp({2, 4}, 0.4, 3.0);
  auto [h1, c1] = lstm(x, std::make_tuple(h, c));
  check_against(*lstm, {h1, c1}, {x, h, c}, kLstmCell);

  nn::GRUCell gru(3, 4);
  fill(gru);
  const Tensor x1 = ramp({3}, 0.3, 0.1);
  const Tensor h2 = gru(x1);
  CHECK(h2.sizes() == Shape{4});
  check_against(*gru, {h2}, {x1}, kGruCellUnbatched);

  nn::RNNCell rnn(nn::RNNCellOptions(3, 4).nonlinearity(nn::kReLU));
  fill(rnn);
  const Tensor x2 = ramp({2, 3}, 0.3, 0.1), h3 = ramp({2, 4}, 0.5, 2.0, true);
  check_against(*rnn, {rnn(x2, h3)}, {x2, h3}, kRnnCellRelu);
}

TEST_CASE("the layers' gradients pass gradcheck (float64, stacked, bidirectional, batch_first)") {
  // The input and the initial states as the checked inputs; the parameters as they are.
  nn::LSTM lstm(nn::LSTMOptions(2, 3).num_layers(2).bidirectional(true).batch_first(true));
  lstm->to(kFloat64);
  test::check_gradients(
      [&](const std::vector<Tensor>& in) {
        auto [output, state] = lstm(in[0], std::make_tuple(in[1], in[2]));
        return cat({output.flatten(), std::get<0>(state).flatten(), std::get<1>(state).flatten()});
      },
      {test::strided_leaf({2, 3, 2}), test::leaf({4, 2, 3}, 2), test::leaf({4, 2, 3}, 3)}, false);
  nn::GRU gru(nn::GRUOptions(2, 3).num_layers(2).bidirectional(true));
  gru->to(kFloat64);
  test::check_gradients(
      [&](const std::vector<Tensor>& in) {
        auto [output, h_n] = gru(in[0], in[1]);
        return cat({output.flatten(), h_n.flatten()});
      },
      {test::strided_leaf({3, 2, 2}, 4), test::leaf({4, 2, 3}, 5)}, false);
  nn::LSTMCell cell(2, 3);
  cell->to(kFloat64);
  test::check_gradients(
      [&](const std::vector<Tensor>& in) {
        auto [h, c] = cell(in[0], std::make_tuple(in[1], in[2]));
        return h * c;
      },
      {test::leaf({2, 2}, 6), test::leaf({2, 3}, 7), test::leaf({2, 3}, 8)});
}

TEST_CASE("parameter names, shapes, initialization and printing are PyTorch's") {
  // [(n, tuple(p.shape)) for n, p in nn.LSTM(4, 8, num_layers=2, bidirectional=True)
  //  .named_parameters()]
  nn::LSTM lstm(nn::LSTMOptions(4, 8).num_layers(2).bidirectional(true));
  const std::vector<std::pair<std::string, Shape>> expected = {{"weight_ih_l0", {32, 4}},
                                                               {"weight_hh_l0", {32, 8}},
                                                               {"bias_ih_l0", {32}},
                                                               {"bias_hh_l0", {32}},
                                                               {"weight_ih_l0_reverse", {32, 4}},
                                                               {"weight_hh_l0_reverse", {32, 8}},
                                                               {"bias_ih_l0_reverse", {32}},
                                                               {"bias_hh_l0_reverse", {32}},
                                                               {"weight_ih_l1", {32, 16}},
                                                               {"weight_hh_l1", {32, 8}},
                                                               {"bias_ih_l1", {32}},
                                                               {"bias_hh_l1", {32}},
                                                               {"weight_ih_l1_reverse", {32, 16}},
                                                               {"weight_hh_l1_reverse", {32, 8}},
                                                               {"bias_ih_l1_reverse", {32}},
                                                               {"bias_hh_l1_reverse", {32}}};
  const auto parameters = lstm->named_parameters();
  REQUIRE(parameters.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    CHECK(parameters.items()[i].key() == expected[i].first);
    CHECK(parameters.items()[i].value().sizes() == expected[i].second);
    // U(-1/sqrt(8), 1/sqrt(8))
    CHECK(parameters.items()[i].value().abs().max().item<double>() <= 1 / std::sqrt(8.0));
  }
  CHECK(lstm->all_weights().size() == 4);
  nn::GRU gru(nn::GRUOptions(4, 8).bias(false));
  CHECK(gru->named_parameters().keys() == std::vector<std::string>{"weight_ih_l0", "weight_hh_l0"});
  CHECK(gru->named_parameters()["weight_ih_l0"].sizes() == Shape{24, 4});
  nn::RNNCell cell(4, 8);
  CHECK(cell->named_parameters().keys() ==
        std::vector<std::string>{"weight_ih", "weight_hh", "bias_ih", "bias_hh"});
  // print(nn.RNN(4, 8, nonlinearity='relu', num_layers=2, bias=False, batch_first=True,
  //              dropout=0.5, bidirectional=True)), print(nn.GRUCell(4, 8, bias=False)), ...
  std::ostringstream out;
  out << *nn::RNN(nn::RNNOptions(4, 8)
                      .nonlinearity(nn::kReLU)
                      .num_layers(2)
                      .bias(false)
                      .batch_first(true)
                      .dropout(0.5)
                      .bidirectional(true))
      << "\n"
      << *nn::LSTM(4, 8) << "\n"
      << *nn::GRUCell(nn::GRUCellOptions(4, 8).bias(false)) << "\n"
      << *nn::RNNCell(nn::RNNCellOptions(4, 8).nonlinearity(nn::kReLU));
  CHECK(out.str() ==
        "RNN(4, 8, num_layers=2, bias=false, batch_first=true, dropout=0.5, bidirectional=true)\n"
        "LSTM(4, 8)\nGRUCell(4, 8, bias=false)\nRNNCell(4, 8, nonlinearity=relu)");
}

TEST_CASE("an LSTM loads a safetensors file written by PyTorch and reproduces its outputs") {
  // import json, struct, torch
  // torch.manual_seed(0)
  // lstm = torch.nn.LSTM(2, 3)
  // header, blobs, offset = {}, [], 0
  // for name, t in lstm.state_dict().items():
  //     data = t.contiguous().numpy().tobytes()
  //     header[name] = {"dtype": "F32", "shape": list(t.shape),
  //                     "data_offsets": [offset, offset + len(data)]}
  //     blobs.append(data); offset += len(data)
  // header["__metadata__"] = {"format": "pt"}
  // h = json.dumps(header, separators=(",", ":")).encode()
  // h += b" " * ((8 - len(h) % 8) % 8)
  // open("lstm.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
  // x = (0.5 * torch.cos(0.3 * torch.arange(8.) + 0.1)).reshape(4, 1, 2)
  // out, (h_n, c_n) = lstm(x)    # printed below; the file's bytes are `file` (xxd -i)
  const unsigned char file[] = {
      0x30, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7b, 0x22, 0x77, 0x65, 0x69, 0x67, 0x68,
      0x74, 0x5f, 0x69, 0x68, 0x5f, 0x6c, 0x30, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70,
      0x65, 0x22, 0x3a, 0x22, 0x46, 0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65,
      0x22, 0x3a, 0x5b, 0x31, 0x32, 0x2c, 0x32, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f,
      0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x30, 0x2c, 0x39, 0x36, 0x5d,
      0x7d, 0x2c, 0x22, 0x77, 0x65, 0x69, 0x67, 0x68, 0x74, 0x5f, 0x68, 0x68, 0x5f, 0x6c, 0x30,
      0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x46, 0x33, 0x32,
      0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x31, 0x32, 0x2c, 0x33,
      0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73,
      0x22, 0x3a, 0x5b, 0x39, 0x36, 0x2c, 0x32, 0x34, 0x30, 0x5d, 0x7d, 0x2c, 0x22, 0x62, 0x69,
      0x61, 0x73, 0x5f, 0x69, 0x68, 0x5f, 0x6c, 0x30, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79,
      0x70, 0x65, 0x22, 0x3a, 0x22, 0x46, 0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70,
      0x65, 0x22, 0x3a, 0x5b, 0x31, 0x32, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f,
      0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x32, 0x34, 0x30, 0x2c, 0x32, 0x38,
      0x38, 0x5d, 0x7d, 0x2c, 0x22, 0x62, 0x69, 0x61, 0x73, 0x5f, 0x68, 0x68, 0x5f, 0x6c, 0x30,
      0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x46, 0x33, 0x32,
      0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x31, 0x32, 0x5d, 0x2c,
      0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a,
      0x5b, 0x32, 0x38, 0x38, 0x2c, 0x33, 0x33, 0x36, 0x5d, 0x7d, 0x2c, 0x22, 0x5f, 0x5f, 0x6d,
      0x65, 0x74, 0x61, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x5f, 0x22, 0x3a, 0x7b, 0x22, 0x66, 0x6f,
      0x72, 0x6d, 0x61, 0x74, 0x22, 0x3a, 0x22, 0x70, 0x74, 0x22, 0x7d, 0x7d, 0xe8, 0xa3, 0x8d,
      0xbb, 0x13, 0x93, 0x9e, 0x3e, 0x7e, 0x4b, 0xf3, 0xbe, 0xc9, 0x8b, 0xd9, 0xbe, 0xb1, 0xb4,
      0x63, 0xbe, 0x53, 0x89, 0x1e, 0x3e, 0x40, 0x6b, 0x3b, 0xbc, 0x7a, 0x61, 0xea, 0x3e, 0x42,
      0xdd, 0x51, 0xbd, 0xd2, 0x70, 0x1c, 0x3e, 0x9e, 0xab, 0x32, 0xbe, 0xea, 0x6b, 0xe8, 0xbd,
      0xbd, 0x33, 0x0d, 0xbf, 0xd6, 0xc5, 0xc3, 0xbe, 0x84, 0xb5, 0x73, 0xbe, 0x08, 0x34, 0xaf,
      0x3c, 0x8d, 0xb9, 0x69, 0x3e, 0x66, 0x5e, 0xb1, 0x3e, 0xd2, 0x66, 0xc8, 0xbe, 0x69, 0xb9,
      0x80, 0xbe, 0x83, 0xbc, 0x56, 0x3e, 0x27, 0x77, 0xf5, 0x3e, 0x43, 0x57, 0xf3, 0xbd, 0x15,
      0x34, 0xdd, 0x3e, 0xda, 0x95, 0xbe, 0xbd, 0x65, 0x3b, 0x7a, 0x3d, 0xb5, 0xd4, 0x05, 0x3f,
      0x79, 0x1c, 0x09, 0xbf, 0xf0, 0x17, 0xba, 0xbe, 0x48, 0xac, 0x15, 0xbe, 0xcc, 0x73, 0x66,
      0xbe, 0xca, 0x66, 0xff, 0x3e, 0xa4, 0x9a, 0xbf, 0xbe, 0x70, 0x13, 0x88, 0xbe, 0x3c, 0x85,
      0xce, 0xbe, 0xdf, 0x6c, 0x0a, 0xbf, 0x3e, 0x8e, 0xac, 0xbe, 0x9d, 0x19, 0xfe, 0x3e, 0x55,
      0xe7, 0x83, 0x3e, 0x54, 0x45, 0x8f, 0x3e, 0x67, 0xbd, 0xf8, 0x3c, 0x0b, 0x8d, 0x97, 0xbe,
      0xd5, 0x0b, 0xc8, 0x3d, 0x6b, 0x00, 0x0a, 0xbf, 0xce, 0x97, 0xd5, 0xbe, 0x73, 0x64, 0x98,
      0xbe, 0xe2, 0x81, 0xba, 0x3e, 0x8a, 0x51, 0xad, 0x3e, 0x3f, 0x19, 0x83, 0xbe, 0x3d, 0xa8,
      0xaa, 0xbc, 0x68, 0x0e, 0xbd, 0x3e, 0x3d, 0xef, 0x12, 0x3f, 0xaf, 0xa3, 0x6a, 0x3e, 0x50,
      0xbc, 0x9f, 0x3d, 0xb0, 0x32, 0xc6, 0x3e, 0x4b, 0x0d, 0xae, 0xbe, 0xee, 0x55, 0xdc, 0x3d,
      0xd2, 0x2e, 0xe5, 0xbe, 0xea, 0xe0, 0xcc, 0xbe, 0x2e, 0xb4, 0x98, 0xbe, 0xa6, 0xc0, 0x85,
      0x3e, 0x8a, 0xc2, 0x6d, 0x3e, 0xf4, 0x19, 0xaf, 0xbe, 0x94, 0x9b, 0x32, 0x3e, 0x28, 0x47,
      0xa2, 0x3e, 0xb8, 0x3d, 0x95, 0xbd, 0xe1, 0x95, 0xb4, 0x3c, 0x41, 0xfc, 0x08, 0x3e, 0xa9,
      0x62, 0xb7, 0x3e, 0x15, 0xeb, 0x0d, 0x3f, 0x84, 0xcc, 0xe3, 0xbe, 0xcb, 0xa8, 0x58, 0xbe,
      0x9e, 0x59, 0x68, 0x3e, 0x06, 0xec, 0xf4, 0x3e, 0x3b, 0x9e, 0x00, 0x3f, 0xef, 0x69, 0x02,
      0x3f, 0x44, 0x51, 0xeb, 0x3d, 0x99, 0x86, 0x00, 0xbf, 0xdb, 0x8b, 0x59, 0x3d, 0x58, 0xee,
      0xb8, 0xbe, 0x8f, 0xbe, 0x09, 0xbf, 0x17, 0x52, 0x03, 0x3f, 0xcf, 0xc3, 0xe0, 0x3e, 0xb1,
      0x6f, 0x13, 0xbf

  };
  nn::LSTM lstm(2, 3);
  const auto metadata = test::load_file_bytes(lstm, file, sizeof(file));
  CHECK(metadata.at("format") == "pt");
  const Tensor x = (arange(8) * 0.3 + 0.1).cos().reshape({4, 1, 2}) * 0.5;
  auto [output, state] = lstm(x);
  test::check_close(
      output,
      {-0.156371474, -0.105564259, 0.0169137828, -0.193853304, -0.156743705, 0.0147706736,
       -0.112650983, -0.167907909, -0.012123107, 0.0752879605, -0.162065238, -0.050496798},
      1e-5, 1e-7);
  test::check_close(std::get<1>(state), {0.100675113, -0.369915247, -0.16140376}, 1e-5, 1e-7);
}

TEST_CASE("AnyModule and Sequential hold recurrent layers") {
  nn::AnyModule any(nn::LSTM(3, 4));
  const Tensor x = randn({5, 2, 3});
  using LstmResult = std::tuple<Tensor, std::tuple<Tensor, Tensor>>;
  const auto [output, state] = any.forward<LstmResult>(x);
  CHECK(output.sizes() == Shape{5, 2, 4});
  // An initial state as a tuple fills the std::optional parameter.
  const Tensor h0 = zeros({1, 2, 4});
  CHECK(allclose(std::get<0>(any.forward<LstmResult>(x, std::make_tuple(h0, h0))), output));
  check_error({"AnyModule", "bg::nn::LSTMImpl", "returns std::tuple", "not bg::Tensor",
               "call forward<std::tuple"},
              [&] { any.forward(x); });
  check_error({"AnyModule", "bg::nn::LSTMImpl", "takes (bg::Tensor, std::optional",
               "called with (bg::Tensor, int)"},
              [&] { any.forward<LstmResult>(x, 3); });
  check_error({"called with (bg::Tensor, bg::Tensor, bg::Tensor)"},
              [&] { any.forward<LstmResult>(x, x, x); });
  // A GRUCell maps a tensor to a tensor (its state defaults to zeros): it chains in Sequential.
  nn::Sequential cells(nn::GRUCell(3, 4), nn::Linear(4, 2));
  CHECK(cells(randn({6, 3})).sizes() == Shape{6, 2});
  // An LSTM first: its tuple goes to the next module, and the result type is named at the end.
  struct FirstOutputImpl : nn::Module {
    Tensor forward(const LstmResult& result) { return std::get<0>(result); }
  };
  nn::Sequential chain(nn::LSTM(3, 4), std::make_shared<FirstOutputImpl>(), nn::Linear(4, 1));
  CHECK(chain->forward(x).sizes() == Shape{5, 2, 1});
  CHECK(chain->forward(x, std::make_tuple(h0, h0)).sizes() == Shape{5, 2, 1});
  nn::Sequential lstm_only(nn::LSTM(3, 4));
  check_error({"Sequential", "the last module returns std::tuple", "not bg::Tensor"},
              [&] { lstm_only->forward(x); });
  CHECK(std::get<0>(lstm_only->forward<LstmResult>(x)).sizes() == Shape{5, 2, 4});
}

TEST_CASE("recurrent layer errors name the layer and the shapes") {
  nn::LSTM lstm(nn::LSTMOptions(3, 4).num_layers(2));
  check_error({"LSTM", "expected an input [seq_len, batch, 3]", "float32[5, 2, 2]"}, [&] {
    lstm(zeros({5, 2, 2}));
  });
  check_error({"LSTM", "float32[2, 5, 2, 3]"}, [&] { lstm(zeros({2, 5, 2, 3})); });
  check_error({"LSTM", "initial hidden state [2, 2, 4]", "float32[1, 2, 4]"}, [&] {
    lstm(zeros({5, 2, 3}), std::make_tuple(zeros({1, 2, 4}), zeros({2, 2, 4})));
  });
  check_error({"LSTM", "both tensors or neither"}, [&] {
    lstm(zeros({5, 2, 3}), std::make_tuple(zeros({2, 2, 4}), Tensor()));
  });
  check_error({"LSTM", "float64[5, 2, 3]", "does not match the parameters", "float32"}, [&] {
    lstm(zeros({5, 2, 3}, kFloat64));
  });
  check_error({"LSTM", "the sequence is empty"}, [&] { lstm(zeros({0, 2, 3})); });
  check_error({"GRU", "initial hidden state [1, 4]", "float32[1, 2, 4]"}, [&] {
    nn::GRU(3, 4)(zeros({5, 3}), zeros({1, 2, 4}));
  });
  check_error({"RNN", "num_layers must be positive"},
              [&] { nn::RNN(nn::RNNOptions(3, 4).num_layers(0)); });
  check_error({"GRU", "dropout", "[0, 1]", "1.5"},
              [&] { nn::GRU(nn::GRUOptions(3, 4).dropout(1.5)); });
  check_error({"LSTMCell", "input_size and hidden_size must be positive"},
              [&] { nn::LSTMCell(0, 4); });
  check_error({"GRUCell", "expected an input [batch, 3] or [3]", "float32[2, 4]"}, [&] {
    nn::GRUCell(3, 4)(zeros({2, 4}));
  });
  check_error({"RNNCell", "expected a state [2, 4]", "float32[4]"}, [&] {
    nn::RNNCell(3, 4)(zeros({2, 3}), zeros({4}));
  });
}
